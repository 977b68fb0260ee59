-- +goose Up
-- Rows the broker refuses for good are set aside (failed_at) so they never
-- block the rows behind them.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
DROP INDEX outbox_pending_idx;
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_failed_idx ON outbox (seq) WHERE failed_at IS NOT NULL;

-- Every new row must be a CloudEvent the relay can publish. NOT VALID: rows
-- written before this migration are not checked (the relay sets aside any
-- it cannot parse).
ALTER TABLE outbox ADD CONSTRAINT outbox_event_is_cloudevent CHECK (
    coalesce(event->>'specversion' = '1.0', false)
    AND coalesce(length(event->>'id'), 0) > 0
    AND coalesce(length(event->>'source'), 0) > 0
    AND coalesce(length(event->>'type'), 0) > 0
) NOT VALID;

-- When recur-task decided a done recurring task's next occurrence (created
-- it, found it, or found the series over). The reconciler looks for done
-- recurring tasks where this is still NULL.
ALTER TABLE tasks ADD COLUMN recurred_at timestamptz;
UPDATE tasks p SET recurred_at = now()
    WHERE status = 'done' AND EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = p.id);
CREATE INDEX tasks_unrecurred_idx ON tasks (completed_at)
    WHERE status = 'done' AND recurring_type <> 'none' AND recurred_at IS NULL;

-- Retention deletes old processed_events rows.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);

-- +goose Down
DROP INDEX processed_events_processed_at_idx;
DROP INDEX tasks_unrecurred_idx;
ALTER TABLE tasks DROP COLUMN recurred_at;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_is_cloudevent;
DROP INDEX outbox_failed_idx;
DROP INDEX outbox_pending_idx;
ALTER TABLE outbox DROP COLUMN failed_at;
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL;
