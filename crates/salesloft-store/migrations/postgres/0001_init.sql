-- salesloft-prod store, schema version 1 (PostgreSQL). Times are microseconds since the Unix epoch (UTC).

CREATE TABLE slprod_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Idempotency ledger (brandur's idempotency_keys, research/anchors.md §3).
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    phase        TEXT NOT NULL CHECK (phase IN ('started', 'request_sent', 'completed', 'failed')),
    result       TEXT,
    lock_token   TEXT,
    locked_by    TEXT,
    locked_until BIGINT,
    attempts     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_unfinished ON idempotency_keys (phase, updated_at);

CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       TEXT NOT NULL,
    fence       BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE webhook_inbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key    TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    resource_id  TEXT,
    body         BYTEA NOT NULL,
    received_at  BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'processing', 'processed', 'dead')),
    attempts     BIGINT NOT NULL,
    available_at BIGINT NOT NULL,
    claimed_by   TEXT,
    last_error   TEXT,
    finished_at  BIGINT
);
CREATE INDEX webhook_inbox_ready ON webhook_inbox (state, available_at, id);
CREATE INDEX webhook_inbox_received_at ON webhook_inbox (received_at);

-- Audit log: append-only, hash-chained; audit_head is the chain head (and the append serialization point).
CREATE TABLE audit_log (
    seq             BIGINT PRIMARY KEY,
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    operation       TEXT NOT NULL,
    resource        TEXT NOT NULL,
    request         TEXT NOT NULL,
    response_status BIGINT,
    idempotency_key TEXT,
    correlation_id  TEXT,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE pause_flag (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    paused BOOLEAN NOT NULL,
    set_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_at BIGINT NOT NULL
);

CREATE TABLE rate_budget (
    team         TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    spent        BIGINT NOT NULL
);
