-- Machine registry (issue 5): what the REST registry and the ingest paths
-- need beyond the seed's table.
--
-- factory_id: the factory of the MQTT topic factory/{factory_id}/...;
-- bounded like users.factory_id; existing rows and bodies without it get
-- 'default'.  last_seen: the last accepted reading, written in batches by
-- the nginx workers (ngx_http_gonsters_machines_touch), never per reading.

ALTER TABLE machine_metadata
    ADD COLUMN IF NOT EXISTS factory_id VARCHAR(50) NOT NULL DEFAULT 'default';
ALTER TABLE machine_metadata
    ADD COLUMN IF NOT EXISTS last_seen TIMESTAMP WITH TIME ZONE;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'chk_factory_id') THEN
        ALTER TABLE machine_metadata ADD CONSTRAINT chk_factory_id
            CHECK (length(factory_id) BETWEEN 1 AND 50);
    END IF;
END
$$;

-- the list is newest first, ties broken by id so that pages are stable
CREATE INDEX IF NOT EXISTS idx_machine_created_at_id
    ON machine_metadata (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_machine_factory_id
    ON machine_metadata (factory_id);

-- updated_at follows changes of the registry's fields only: the batched
-- last_seen updates must not make every machine look edited.
DROP TRIGGER IF EXISTS update_machine_metadata_updated_at ON machine_metadata;
CREATE TRIGGER update_machine_metadata_updated_at
    BEFORE UPDATE OF name, location, sensor_type, status, factory_id
    ON machine_metadata
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- Registry changes for the MQTT workers' registry caches (LISTEN
-- gonsters_machines): {"op":"insert|update|delete","machine_id":uuid}.
-- last_seen alone is not a change of the registry.
CREATE OR REPLACE FUNCTION notify_machine_change()
RETURNS TRIGGER AS $$
DECLARE
    row_id UUID;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_id = OLD.id;
    ELSE
        row_id = NEW.id;
    END IF;
    PERFORM pg_notify('gonsters_machines',
                      json_build_object('op', lower(TG_OP),
                                        'machine_id', row_id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS notify_machine_metadata_change ON machine_metadata;
CREATE TRIGGER notify_machine_metadata_change
    AFTER INSERT OR DELETE
       OR UPDATE OF name, location, sensor_type, status, factory_id
    ON machine_metadata
    FOR EACH ROW EXECUTE FUNCTION notify_machine_change();
