-- E-mail addresses are unique whatever their case: login matches them
-- case-insensitively, so "Ana@x" and "ana@x" must not be two accounts.
-- The index name holds "email": register answers 409 naming the field.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email));
