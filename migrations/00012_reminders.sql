-- +goose Up
-- Reminders of a task (at most 5; each with its time and state), kept with
-- the task so that every change of the task and of its reminders is one
-- row's update. next_remind_at is the earliest scheduled reminder's time
-- (NULL when none is scheduled), written with the row; the scheduler reads
-- the pending ones through a partial index and is woken by NOTIFY when a
-- row with one is written.
ALTER TABLE tasks
    ADD COLUMN reminders jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(reminders) = 'array' AND jsonb_array_length(reminders) <= 5),
    ADD COLUMN next_remind_at timestamptz;

CREATE INDEX tasks_next_remind_at_idx ON tasks (next_remind_at) WHERE next_remind_at IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION tasks_notify_reminders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('todo_reminders', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tasks_notify_reminders AFTER INSERT OR UPDATE OF next_remind_at ON tasks
    FOR EACH ROW WHEN (NEW.next_remind_at IS NOT NULL) EXECUTE FUNCTION tasks_notify_reminders();

-- +goose Down
DROP TRIGGER tasks_notify_reminders ON tasks;
DROP FUNCTION tasks_notify_reminders();
DROP INDEX tasks_next_remind_at_idx;
ALTER TABLE tasks DROP COLUMN next_remind_at, DROP COLUMN reminders;
