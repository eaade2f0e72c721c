-- Revoked tokens (issue 4, revocation): the source of truth for the
-- shared-memory revocation set of every nginx node
-- (ngx_http_gonsters_revoke_module).  A node loads the unexpired rows at
-- start and then, every gonsters_revocation_sync, the rows whose revoked_at
-- is newer than the newest it has seen (minus a margin for transactions
-- that committed late); Redis pub/sub only makes it faster.
--
-- jti is the token's "jti" claim; expires_at is the token's own expiry,
-- after which the row is useless (nodes prune it; a job may delete it).

CREATE TABLE IF NOT EXISTS token_revocations (
    jti         TEXT PRIMARY KEY,
    expires_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    revoked_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    reason      TEXT
);

CREATE INDEX IF NOT EXISTS idx_token_revocations_revoked_at
    ON token_revocations (revoked_at);
CREATE INDEX IF NOT EXISTS idx_token_revocations_expires_at
    ON token_revocations (expires_at);
