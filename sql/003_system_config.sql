-- System settings (seed Part 2 B) with their defaults.

CREATE TABLE IF NOT EXISTS system_config (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    setting_name  VARCHAR(255) NOT NULL UNIQUE,
    setting_value TEXT NOT NULL,
    description   TEXT,
    updated_by    VARCHAR(255),
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

DROP TRIGGER IF EXISTS update_system_config_updated_at ON system_config;
CREATE TRIGGER update_system_config_updated_at
    BEFORE UPDATE ON system_config
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

INSERT INTO system_config (setting_name, setting_value, description, updated_by)
VALUES
    ('max_temperature_threshold', '80.0',
     'Maximum temperature in Celsius before an alert', 'system'),
    ('min_temperature_threshold', '50.0',
     'Minimum temperature in Celsius before an alert', 'system'),
    ('max_pressure_threshold', '150.0',
     'Maximum pressure in kPa before an alert', 'system'),
    ('inactivity_timeout', '300',
     'Seconds without telemetry before a machine is reported silent', 'system'),
    ('alert_email', 'alerts@factory.com',
     'Address that receives system alerts', 'system'),
    ('data_retention_days', '365',
     'Days of raw sensor data kept', 'system')
ON CONFLICT (setting_name) DO NOTHING;
