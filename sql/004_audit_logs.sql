-- Audit trail of user actions (seed Part 2 B step 6): who, what, from where,
-- with the old and new values in "changes" and nginx's $request_id.

CREATE TABLE IF NOT EXISTS audit_logs (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       UUID REFERENCES users (id) ON DELETE SET NULL,
    username      VARCHAR(50),
    role          VARCHAR(20),
    action        VARCHAR(100) NOT NULL,
    resource      VARCHAR(255) NOT NULL,
    method        VARCHAR(10),
    status_code   INTEGER,
    changes       JSONB,
    ip_address    VARCHAR(45),
    user_agent    TEXT,
    request_id    VARCHAR(64),
    request_body  JSONB,
    response_body JSONB,
    created_at    TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS idx_audit_logs_user_id ON audit_logs (user_id);
CREATE INDEX IF NOT EXISTS idx_audit_logs_action ON audit_logs (action);
CREATE INDEX IF NOT EXISTS idx_audit_logs_created_at ON audit_logs (created_at);
CREATE INDEX IF NOT EXISTS idx_audit_logs_resource ON audit_logs (resource);
CREATE INDEX IF NOT EXISTS idx_audit_logs_request_id ON audit_logs (request_id);
