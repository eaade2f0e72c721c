-- Alerts and MQTT dead letters (issue 7, the worker).
--
-- alerts: one row per reading beyond a system_config threshold
-- (max_temperature, min_temperature, max_pressure) and one per silence
-- longer than inactivity_timeout (inactive; reading_time = the last_seen it
-- refers to).  (machine_id, alert_type, reading_time) is unique: a worker
-- replaying its spool after a crash, or two workers checking inactivity at
-- once, store an alert once.  No foreign key: the alerts of a deleted
-- machine stay as history, and a delete racing an insert must not wedge
-- the worker's queue.

CREATE TABLE IF NOT EXISTS alerts (
    id            BIGSERIAL PRIMARY KEY,
    machine_id    UUID NOT NULL,
    factory_id    VARCHAR(64) NOT NULL,
    alert_type    VARCHAR(32) NOT NULL,
    value         DOUBLE PRECISION,
    threshold     DOUBLE PRECISION,
    reading_time  TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    worker_id     VARCHAR(128),
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_alert_type CHECK (alert_type IN
        ('max_temperature', 'min_temperature', 'max_pressure', 'inactive'))
);

CREATE UNIQUE INDEX IF NOT EXISTS idx_alerts_unique
    ON alerts (machine_id, alert_type, reading_time);
CREATE INDEX IF NOT EXISTS idx_alerts_created_at ON alerts (created_at);
CREATE INDEX IF NOT EXISTS idx_alerts_factory_created
    ON alerts (factory_id, created_at);

-- ingest_dead_letters: every MQTT message the worker could not store as a
-- reading, with the reason (invalid_topic, payload_too_large, invalid_json,
-- invalid_payload, unknown_machine, factory_mismatch, invalid_status,
-- untaggable_machine, influx_rejected) and a detail text.  The payload is
-- kept as received (bytea: it need not be UTF-8; an oversized one is cut
-- at payload_max_bytes + 1 and payload_size says how big it was).
-- msg_key is a hash of receive time, topic and payload: a replayed spool
-- stores a message once.

CREATE TABLE IF NOT EXISTS ingest_dead_letters (
    id            BIGSERIAL PRIMARY KEY,
    msg_key       BIGINT NOT NULL,
    source        VARCHAR(16) NOT NULL DEFAULT 'mqtt',
    topic         TEXT NOT NULL,
    payload       BYTEA NOT NULL,
    payload_size  INTEGER NOT NULL,
    reason        VARCHAR(64) NOT NULL,
    detail        TEXT,
    worker_id     VARCHAR(128),
    received_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX IF NOT EXISTS idx_dead_letters_msg_key
    ON ingest_dead_letters (msg_key);
CREATE INDEX IF NOT EXISTS idx_dead_letters_received_at
    ON ingest_dead_letters (received_at);
CREATE INDEX IF NOT EXISTS idx_dead_letters_reason
    ON ingest_dead_letters (reason);
