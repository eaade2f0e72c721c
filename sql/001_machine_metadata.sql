-- Machine registry (seed §1.1 A).  gen_random_uuid() is built into
-- PostgreSQL 13+, so no extension (and no superuser) is needed.

CREATE OR REPLACE FUNCTION update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE IF NOT EXISTS machine_metadata (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name        VARCHAR(255) NOT NULL,
    location    VARCHAR(500) NOT NULL,
    sensor_type VARCHAR(100) NOT NULL,
    status      VARCHAR(50)  NOT NULL DEFAULT 'active',
    created_at  TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at  TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_status
        CHECK (status IN ('active', 'inactive', 'maintenance', 'error'))
);

-- Unique, unlike the seed's plain index: the API answers 409 on a
-- duplicate name, and the check must hold across concurrent requests.
CREATE UNIQUE INDEX IF NOT EXISTS idx_machine_name ON machine_metadata (name);
CREATE INDEX IF NOT EXISTS idx_machine_location ON machine_metadata (location);
CREATE INDEX IF NOT EXISTS idx_machine_sensor_type ON machine_metadata (sensor_type);
CREATE INDEX IF NOT EXISTS idx_machine_status ON machine_metadata (status);
CREATE INDEX IF NOT EXISTS idx_machine_location_status
    ON machine_metadata (location, status);
CREATE INDEX IF NOT EXISTS idx_machine_created_at ON machine_metadata (created_at);

DROP TRIGGER IF EXISTS update_machine_metadata_updated_at ON machine_metadata;
CREATE TRIGGER update_machine_metadata_updated_at
    BEFORE UPDATE ON machine_metadata
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
