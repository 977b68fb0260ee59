-- +goose Up
-- Every task knows its series (the id of the series' first task) and its
-- position in it (0 for the first), so a series of any length is read in
-- pages through one index, and no query walks parent_task_id link by link.
-- A task whose parent is gone (deleted: parent_task_id set to NULL) stays in
-- its series.
ALTER TABLE tasks ADD COLUMN series_id uuid, ADD COLUMN series_position integer;

-- Existing chains, once: from each first task down its next occurrences.
WITH RECURSIVE walk AS (
    SELECT id, id AS series_id, 0 AS series_position FROM tasks WHERE parent_task_id IS NULL
    UNION ALL
    SELECT t.id, walk.series_id, walk.series_position + 1 FROM tasks t JOIN walk ON t.parent_task_id = walk.id
)
UPDATE tasks SET series_id = walk.series_id, series_position = walk.series_position FROM walk WHERE tasks.id = walk.id;

-- +goose StatementBegin
CREATE FUNCTION tasks_place_in_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_task_id IS NOT NULL THEN
        SELECT p.series_id, p.series_position + 1 INTO NEW.series_id, NEW.series_position
            FROM tasks p WHERE p.id = NEW.parent_task_id AND p.user_id = NEW.user_id;
    END IF;
    IF NEW.series_id IS NULL THEN
        NEW.series_id := NEW.id;
        NEW.series_position := 0;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tasks_place_in_series BEFORE INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_place_in_series();

ALTER TABLE tasks ALTER COLUMN series_id SET NOT NULL, ALTER COLUMN series_position SET NOT NULL;
CREATE INDEX tasks_series_idx ON tasks (user_id, series_id, series_position);

-- +goose Down
DROP INDEX tasks_series_idx;
DROP TRIGGER tasks_place_in_series ON tasks;
DROP FUNCTION tasks_place_in_series();
ALTER TABLE tasks DROP COLUMN series_position, DROP COLUMN series_id;
