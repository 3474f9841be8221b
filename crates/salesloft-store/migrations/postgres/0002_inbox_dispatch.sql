-- Schema 2: what the dispatcher needs (issue 9). Deliveries of one resource are handed on in arrival order, so
-- each row names its resource (`{type}:{id}`, NULL when the body names none: unordered); a delivery older than
-- the last one handed on for its resource is finished as `stale`; the newest `updated_at` handed on per
-- resource lives in webhook_resource_versions, written in the transaction that marks a delivery processed.
ALTER TABLE webhook_inbox ADD COLUMN resource_key TEXT;
ALTER TABLE webhook_inbox DROP CONSTRAINT webhook_inbox_state_check;
ALTER TABLE webhook_inbox ADD CONSTRAINT webhook_inbox_state_check
    CHECK (state IN ('pending', 'processing', 'processed', 'dead', 'stale'));
-- Backfill the open deliveries with the rule of crate::inbox::resource_type (keep the two in step): strip the
-- last `_verb` for the verbs SalesLoft uses (FACTS.md §6.3), `email_with_body_and_subject` is an `email`, any
-- other event (`link_swap`) is its own type. Finished rows are never claimed again and keep NULL.
UPDATE webhook_inbox SET resource_key = (
    CASE
        WHEN event_type = 'email_with_body_and_subject_updated' THEN 'email'
        WHEN event_type LIKE '%\_created' ESCAPE '\' THEN substr(event_type, 1, length(event_type) - 8)
        WHEN event_type LIKE '%\_updated' ESCAPE '\' THEN substr(event_type, 1, length(event_type) - 8)
        WHEN event_type LIKE '%\_deleted' ESCAPE '\' THEN substr(event_type, 1, length(event_type) - 8)
        WHEN event_type LIKE '%\_completed' ESCAPE '\' THEN substr(event_type, 1, length(event_type) - 10)
        WHEN event_type LIKE '%\_booked' ESCAPE '\' THEN substr(event_type, 1, length(event_type) - 7)
        ELSE event_type
    END) || ':' || resource_id
WHERE resource_id IS NOT NULL AND state IN ('pending', 'processing');
-- Only open rows are indexed: the claim asks "is an earlier row of this resource still open?" and the lag
-- gauge "which open row is oldest?"; finished rows, the bulk of the table, cost these indexes nothing.
CREATE INDEX webhook_inbox_open_resource ON webhook_inbox (resource_key, id) WHERE state IN ('pending', 'processing');
CREATE INDEX webhook_inbox_open ON webhook_inbox (id) WHERE state IN ('pending', 'processing');
CREATE TABLE webhook_resource_versions (
    resource_key TEXT PRIMARY KEY,
    updated_at   BIGINT NOT NULL,
    inbox_id     BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL
);
