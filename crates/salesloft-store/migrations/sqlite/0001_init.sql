-- salesloft-prod store, schema version 1 (SQLite). Times are microseconds since the Unix epoch (UTC).

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
    locked_until INTEGER,
    attempts     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_unfinished ON idempotency_keys (phase, updated_at);

CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       TEXT NOT NULL,
    fence       INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY,
    dedup_key    TEXT NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    resource_id  TEXT,
    body         BLOB NOT NULL,
    received_at  INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'processing', 'processed', 'dead')),
    attempts     INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    claimed_by   TEXT,
    last_error   TEXT,
    finished_at  INTEGER
);
CREATE INDEX webhook_inbox_ready ON webhook_inbox (state, available_at, id);
CREATE INDEX webhook_inbox_received_at ON webhook_inbox (received_at);

-- Audit log: append-only, hash-chained; audit_head is the chain head (and the append serialization point).
CREATE TABLE audit_log (
    seq             INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    operation       TEXT NOT NULL,
    resource        TEXT NOT NULL,
    request         TEXT NOT NULL,
    response_status INTEGER,
    idempotency_key TEXT,
    correlation_id  TEXT,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE checkpoints (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE pause_flag (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    paused BOOLEAN NOT NULL,
    set_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_at INTEGER NOT NULL
);

CREATE TABLE rate_budget (
    team         TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    spent        INTEGER NOT NULL
);
