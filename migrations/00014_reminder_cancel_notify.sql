-- +goose Up
-- A task whose last scheduled reminder goes (completed, skipped, re-timed
-- away, fired) or that is deleted with one also notifies todo_reminders,
-- so a trigger outside the process (a reminder's Dapr job) is removed at
-- once rather than at the next catch-up scan. (A trigger on INSERT cannot
-- look at OLD, hence triggers of their own.)
CREATE TRIGGER tasks_notify_reminders_gone AFTER UPDATE OF next_remind_at ON tasks
    FOR EACH ROW WHEN (OLD.next_remind_at IS NOT NULL AND NEW.next_remind_at IS NULL)
    EXECUTE FUNCTION tasks_notify_reminders();

CREATE TRIGGER tasks_notify_reminders_deleted AFTER DELETE ON tasks
    FOR EACH ROW WHEN (OLD.next_remind_at IS NOT NULL)
    EXECUTE FUNCTION tasks_notify_reminders();

-- +goose Down
DROP TRIGGER tasks_notify_reminders_deleted ON tasks;
DROP TRIGGER tasks_notify_reminders_gone ON tasks;
