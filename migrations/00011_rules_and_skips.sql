-- +goose Up
-- Recurrence rules (RFC 5545 RRULE values, stored in their canonical
-- spelling; recurring_type is then the rule's FREQ), a task's number in a
-- series whose rule has COUNT, and skipped occurrences: closed without
-- being done (no completed_at), with the time of the skip. A skip, like a
-- completion, leads to the next occurrence, so the reconciler looks at both.
ALTER TABLE tasks
    ADD COLUMN recurrence_rule text CHECK (length(recurrence_rule) BETWEEN 1 AND 512),
    ADD COLUMN occurrence integer CHECK (occurrence >= 1),
    ADD COLUMN skipped_at timestamptz,
    ADD CONSTRAINT tasks_rule_recurs CHECK (recurrence_rule IS NULL OR recurring_type <> 'none'),
    DROP CONSTRAINT tasks_status_check,
    ADD CONSTRAINT tasks_status_check CHECK (status IN ('pending', 'in_progress', 'done', 'skipped')),
    ADD CONSTRAINT tasks_skipped_matches_status CHECK ((status = 'skipped') = (skipped_at IS NOT NULL));

DROP INDEX tasks_unrecurred_idx;
CREATE INDEX tasks_unrecurred_idx ON tasks ((coalesce(completed_at, skipped_at)))
    WHERE status IN ('done', 'skipped') AND recurring_type <> 'none' AND recurred_at IS NULL;

-- +goose Down
DROP INDEX tasks_unrecurred_idx;
CREATE INDEX tasks_unrecurred_idx ON tasks (completed_at)
    WHERE status = 'done' AND recurring_type <> 'none' AND recurred_at IS NULL;
-- A skipped occurrence is pending again for the versions before skips.
UPDATE tasks SET status = 'pending', skipped_at = NULL WHERE status = 'skipped';
ALTER TABLE tasks
    DROP CONSTRAINT tasks_skipped_matches_status,
    DROP CONSTRAINT tasks_status_check,
    ADD CONSTRAINT tasks_status_check CHECK (status IN ('pending', 'in_progress', 'done')),
    DROP CONSTRAINT tasks_rule_recurs,
    DROP COLUMN skipped_at,
    DROP COLUMN occurrence,
    DROP COLUMN recurrence_rule;
