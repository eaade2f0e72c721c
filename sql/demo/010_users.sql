-- Demo users of the seed; the password of all three is "Password123!"
-- (bcrypt, cost 12, the seed's hashes).  Loaded by `make run` only.

INSERT INTO users (username, email, password_hash, role, factory_id, department)
VALUES
    ('operator1', 'operator1@factory.com',
     '$2b$12$m9iA60jeR5AuatBCV9UPUel/MwmdXhsfzddLdaA54QcaTtXKtj3fu',
     'Operator', 'factory-A', 'Production'),
    ('supervisor1', 'supervisor1@factory.com',
     '$2b$12$iXhekJ34xVDaOmni8GvDC.8eBu49RG9atJqZbtUHnvVVKa0ImAtrK',
     'Supervisor', 'factory-A', 'Operations'),
    ('manager1', 'manager1@factory.com',
     '$2b$12$n9HvhqwuSB6MGz3PycRaQuCemlw8/L7XqTc0KouXIlkCozucsHfGa',
     'Management', 'factory-A', 'Management')
ON CONFLICT (username) DO NOTHING;
