-- Settings get a declared type and a default (for POST /api/v1/config/reset);
-- the type rules live here, once: a trigger checks every write, from the API
-- or from psql, and the API answers its message as the field error.  Every
-- change is announced on the channel gonsters_config, payload
-- {"setting": name, "value": text}, so the worker applies new thresholds
-- without a restart.

ALTER TABLE system_config ADD COLUMN IF NOT EXISTS value_type VARCHAR(32);
ALTER TABLE system_config ADD COLUMN IF NOT EXISTS default_value TEXT;

-- the seed's settings: type and default (the values of 003)
UPDATE system_config c
   SET value_type = d.value_type, default_value = d.default_value
  FROM (VALUES
        ('max_temperature_threshold', 'number', '80.0'),
        ('min_temperature_threshold', 'number', '50.0'),
        ('max_pressure_threshold', 'number', '150.0'),
        ('inactivity_timeout', 'positive_integer', '300'),
        ('alert_email', 'email', 'alerts@factory.com'),
        ('data_retention_days', 'positive_integer', '365')
       ) AS d (setting_name, value_type, default_value)
 WHERE c.setting_name = d.setting_name
   AND (c.value_type IS NULL OR c.default_value IS NULL);

UPDATE system_config SET value_type = 'string' WHERE value_type IS NULL;

ALTER TABLE system_config ALTER COLUMN value_type SET DEFAULT 'string';
ALTER TABLE system_config ALTER COLUMN value_type SET NOT NULL;

ALTER TABLE system_config DROP CONSTRAINT IF EXISTS system_config_value_type;
ALTER TABLE system_config ADD CONSTRAINT system_config_value_type
    CHECK (value_type IN ('number', 'positive_integer', 'email', 'string'));


-- NULL when value is a valid value_type, else what is wrong with it (the
-- API's field error).  number: JSON's number syntax (so the text is a JSON
-- number as stored), at most 1e9 in magnitude; positive_integer: 1 to
-- 2147483647 in decimal digits; email: local@domain, the domain with at
-- least one dot, 254 characters at most.
CREATE OR REPLACE FUNCTION gonsters_config_invalid(value_type TEXT, value TEXT)
RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF value IS NULL THEN
        RETURN 'must not be null';
    END IF;

    CASE value_type
    WHEN 'number' THEN
        IF value !~ '^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$'
           OR length(value) > 64 THEN
            RETURN 'must be a number';
        END IF;
        IF abs(value::numeric) > 1e9 THEN
            RETURN 'must be between -1e9 and 1e9';
        END IF;
    WHEN 'positive_integer' THEN
        -- two tests: OR does not promise to skip the cast
        IF value !~ '^[1-9][0-9]{0,9}$' THEN
            RETURN 'must be a positive integer (1 to 2147483647)';
        END IF;
        IF value::bigint > 2147483647 THEN
            RETURN 'must be a positive integer (1 to 2147483647)';
        END IF;
    WHEN 'email' THEN
        IF length(value) > 254
           OR value !~ ('^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]{1,64}'
                        '@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
                        '(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$') THEN
            RETURN 'must be an email address';
        END IF;
    ELSE
        IF length(value) > 1000 THEN
            RETURN 'must be at most 1000 characters';
        END IF;
    END CASE;

    RETURN NULL;
END;
$$;


-- the value as JSON of its type: numbers as numbers, the rest as strings
CREATE OR REPLACE FUNCTION gonsters_config_json(value_type TEXT, value TEXT)
RETURNS JSONB LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN value IS NULL THEN 'null'::jsonb
        WHEN value_type = 'number' THEN to_jsonb(value::numeric)
        WHEN value_type = 'positive_integer' THEN to_jsonb(value::bigint)
        ELSE to_jsonb(value)
    END
$$;


-- SQLSTATE GNCFG: the API answers 400 with the message as the error of
-- setting_value (psql shows the same message)
CREATE OR REPLACE FUNCTION gonsters_config_check() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    problem TEXT;
BEGIN
    problem := gonsters_config_invalid(NEW.value_type, NEW.setting_value);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'GNCFG', MESSAGE = problem,
            DETAIL = format('setting %s (%s)', NEW.setting_name, NEW.value_type);
    END IF;

    IF NEW.default_value IS NOT NULL THEN
        problem := gonsters_config_invalid(NEW.value_type, NEW.default_value);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'GNCFG',
                MESSAGE = 'default ' || problem,
                DETAIL = format('setting %s (%s)', NEW.setting_name,
                                NEW.value_type);
        END IF;
    END IF;

    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS system_config_check ON system_config;
CREATE TRIGGER system_config_check
    BEFORE INSERT OR UPDATE ON system_config
    FOR EACH ROW EXECUTE FUNCTION gonsters_config_check();


CREATE OR REPLACE FUNCTION gonsters_config_notify() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('gonsters_config',
            json_build_object('setting', OLD.setting_name, 'value', NULL)::text);
        RETURN OLD;
    END IF;

    PERFORM pg_notify('gonsters_config',
        json_build_object('setting', NEW.setting_name,
                          'value', NEW.setting_value)::text);
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS system_config_notify ON system_config;
CREATE TRIGGER system_config_notify
    AFTER INSERT OR UPDATE OR DELETE ON system_config
    FOR EACH ROW EXECUTE FUNCTION gonsters_config_notify();


-- Settings that only make sense together: the minimum temperature below
-- the maximum.  Checked at COMMIT (deferred), so a transaction may pass
-- through an intermediate state (a reset of every setting).
CREATE OR REPLACE FUNCTION gonsters_config_consistent() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    lo NUMERIC;
    hi NUMERIC;
BEGIN
    SELECT setting_value::numeric INTO lo FROM system_config
     WHERE setting_name = 'min_temperature_threshold' AND value_type = 'number';
    SELECT setting_value::numeric INTO hi FROM system_config
     WHERE setting_name = 'max_temperature_threshold' AND value_type = 'number';

    IF lo IS NOT NULL AND hi IS NOT NULL AND lo >= hi THEN
        RAISE EXCEPTION USING ERRCODE = 'GNCFG',
            MESSAGE = format('min_temperature_threshold (%s) must be below '
                             'max_temperature_threshold (%s)', lo, hi);
    END IF;

    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS system_config_consistent ON system_config;
CREATE CONSTRAINT TRIGGER system_config_consistent
    AFTER INSERT OR UPDATE ON system_config
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.setting_name IN ('min_temperature_threshold',
                               'max_temperature_threshold'))
    EXECUTE FUNCTION gonsters_config_consistent();
