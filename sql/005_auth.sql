-- Roles and permissions as data (seed Question 2.2, ROLE_PERMISSIONS, in the
-- seed's order), refresh tokens (rotation families) and login lockout.

CREATE TABLE IF NOT EXISTS roles (
    name        VARCHAR(20) PRIMARY KEY,
    description TEXT
);

CREATE TABLE IF NOT EXISTS permissions (
    name        VARCHAR(50) PRIMARY KEY,
    description TEXT
);

-- position: the order in which a role's permissions are listed (tokens,
-- the user object), the seed's order
CREATE TABLE IF NOT EXISTS role_permissions (
    role        VARCHAR(20) NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    permission  VARCHAR(50) NOT NULL REFERENCES permissions (name) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (role, permission)
);

INSERT INTO roles (name, description) VALUES
    ('Operator',   'Reads machines and sensor data, ingests data'),
    ('Supervisor', 'Operator, plus machine updates and reports'),
    ('Management', 'Everything, configuration and users included')
ON CONFLICT (name) DO NOTHING;

INSERT INTO permissions (name) VALUES
    ('read:machines'), ('write:machines'), ('delete:machines'),
    ('read:sensor_data'), ('write:sensor_data'), ('delete:sensor_data'),
    ('read:config'), ('write:config'),
    ('read:users'), ('write:users'), ('delete:users'),
    ('read:reports'), ('write:reports')
ON CONFLICT (name) DO NOTHING;

INSERT INTO role_permissions (role, permission, position) VALUES
    ('Operator', 'read:machines', 1),
    ('Operator', 'read:sensor_data', 2),
    ('Operator', 'write:sensor_data', 3),

    ('Supervisor', 'read:machines', 1),
    ('Supervisor', 'write:machines', 2),
    ('Supervisor', 'read:sensor_data', 3),
    ('Supervisor', 'write:sensor_data', 4),
    ('Supervisor', 'read:reports', 5),
    ('Supervisor', 'write:reports', 6),

    ('Management', 'read:machines', 1),
    ('Management', 'write:machines', 2),
    ('Management', 'delete:machines', 3),
    ('Management', 'read:sensor_data', 4),
    ('Management', 'write:sensor_data', 5),
    ('Management', 'delete:sensor_data', 6),
    ('Management', 'read:config', 7),
    ('Management', 'write:config', 8),
    ('Management', 'read:users', 9),
    ('Management', 'write:users', 10),
    ('Management', 'delete:users', 11),
    ('Management', 'read:reports', 12),
    ('Management', 'write:reports', 13)
ON CONFLICT (role, permission) DO NOTHING;


-- Lockout: failures counted per account within a window (the first failure
-- of the window in first_failed_at); at the limit the account is locked
-- until locked_until.  A successful login clears all three.
ALTER TABLE users ADD COLUMN IF NOT EXISTS failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN IF NOT EXISTS first_failed_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE users ADD COLUMN IF NOT EXISTS locked_until TIMESTAMP WITH TIME ZONE;


-- Refresh tokens: one row per issued token, by jti; the SHA-256 (hex) of
-- the token, never the token.  A login starts a family; each refresh marks
-- the presented token rotated and adds its successor to the family;
-- presenting a rotated token again revokes the whole family.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    jti         VARCHAR(64) PRIMARY KEY,
    family_id   VARCHAR(64) NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  CHAR(64) NOT NULL UNIQUE,
    expires_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    rotated_at  TIMESTAMP WITH TIME ZONE,
    replaced_by VARCHAR(64),
    revoked_at  TIMESTAMP WITH TIME ZONE
);

CREATE INDEX IF NOT EXISTS idx_refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS idx_refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX IF NOT EXISTS idx_refresh_tokens_expires ON refresh_tokens (expires_at);


-- One refresh, atomically (the row is locked FOR UPDATE): outcome is
--   ok       the token was current: it is now rotated, p_new_jti added
--   reuse    the token was already rotated: the whole family is revoked
--   revoked  the family was revoked before
--   expired  past its expiry
--   inactive the user is inactive
--   invalid  unknown jti, or the hash does not match
CREATE OR REPLACE FUNCTION gonsters_rotate_refresh(p_jti TEXT, p_hash TEXT,
    p_new_jti TEXT, p_new_hash TEXT, p_ttl DOUBLE PRECISION)
RETURNS TABLE (outcome TEXT, user_id UUID, family_id TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    t refresh_tokens%ROWTYPE;
    active BOOLEAN;
BEGIN
    SELECT * INTO t FROM refresh_tokens r WHERE r.jti = p_jti FOR UPDATE;

    IF NOT FOUND OR t.token_hash <> p_hash THEN
        RETURN QUERY SELECT 'invalid'::TEXT, NULL::UUID, NULL::TEXT;
        RETURN;
    END IF;

    IF t.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::TEXT, t.user_id, t.family_id::TEXT;
        RETURN;
    END IF;

    IF t.rotated_at IS NOT NULL THEN
        UPDATE refresh_tokens r SET revoked_at = now()
         WHERE r.family_id = t.family_id AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 'reuse'::TEXT, t.user_id, t.family_id::TEXT;
        RETURN;
    END IF;

    IF t.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::TEXT, t.user_id, t.family_id::TEXT;
        RETURN;
    END IF;

    SELECT u.is_active INTO active FROM users u WHERE u.id = t.user_id;

    IF active IS NOT TRUE THEN
        RETURN QUERY SELECT 'inactive'::TEXT, t.user_id, t.family_id::TEXT;
        RETURN;
    END IF;

    UPDATE refresh_tokens r SET rotated_at = now(), replaced_by = p_new_jti
     WHERE r.jti = p_jti;

    INSERT INTO refresh_tokens (jti, family_id, user_id, token_hash, expires_at)
    VALUES (p_new_jti, t.family_id, t.user_id, p_new_hash,
            now() + make_interval(secs => p_ttl));

    RETURN QUERY SELECT 'ok'::TEXT, t.user_id, t.family_id::TEXT;
END
$$;
CREATE INDEX IF NOT EXISTS idx_users_email_lower ON users (lower(email));
