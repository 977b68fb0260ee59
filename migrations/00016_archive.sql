-- +goose Up
-- Archive, don't lose: a task closed (done or skipped) longer than
-- ARCHIVE_AFTER ago gets archived_at, set in batches by the one elected
-- housekeeper (recur-task's reconciler). Archived tasks stay in this table
-- (so a task's id, its series, its parent link and GET …/{id} keep
-- working) but leave the default lists and the statistics, and the list
-- indexes below cover only the tasks that are not archived: a busy user's
-- years of done occurrences no longer weigh on every page. Reopening an
-- archived task brings it back. Archived tasks are deleted only when
-- ARCHIVE_RETENTION is set. Rebuilding the list indexes locks the tasks
-- table against writes while it runs: on a large table, migrate in a
-- quiet hour.
ALTER TABLE tasks ADD COLUMN archived_at timestamptz;
ALTER TABLE tasks ADD CONSTRAINT tasks_archived_closed CHECK (archived_at IS NULL OR status IN ('done', 'skipped'));

-- +goose StatementBegin
CREATE FUNCTION tasks_unarchive_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status NOT IN ('done', 'skipped') THEN
        NEW.archived_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER tasks_unarchive_reopened BEFORE UPDATE OF status ON tasks
    FOR EACH ROW WHEN (NEW.archived_at IS NOT NULL) EXECUTE FUNCTION tasks_unarchive_reopened();

DROP INDEX tasks_user_created_idx, tasks_user_updated_idx, tasks_user_due_idx, tasks_user_due_desc_idx,
    tasks_user_priority_idx, tasks_user_title_idx, tasks_user_status_idx, tasks_tags_idx, tasks_words_idx,
    tasks_text_trgm_idx;
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC) WHERE archived_at IS NULL;
CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at, id) WHERE archived_at IS NULL;
CREATE INDEX tasks_user_due_idx ON tasks (user_id, due_date, id) WHERE archived_at IS NULL;
CREATE INDEX tasks_user_due_desc_idx ON tasks (user_id, due_date DESC NULLS LAST, id DESC) WHERE archived_at IS NULL;
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END), id)
    WHERE archived_at IS NULL;
CREATE INDEX tasks_user_title_idx ON tasks (user_id, lower(title), id) WHERE archived_at IS NULL;
CREATE INDEX tasks_user_status_idx ON tasks (user_id, status, created_at DESC, id DESC) WHERE archived_at IS NULL;
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags) WHERE archived_at IS NULL;
CREATE INDEX tasks_words_idx ON tasks USING gin (to_tsvector('simple', title || ' ' || description)) WHERE archived_at IS NULL;
CREATE INDEX tasks_text_trgm_idx ON tasks USING gin ((title || ' ' || description) gin_trgm_ops) WHERE archived_at IS NULL;
-- ?archived=true, newest archived first; and what the housekeeper takes
-- next (closed, not archived, oldest first) and purges (archived longest).
CREATE INDEX tasks_user_archived_idx ON tasks (user_id, archived_at DESC, id DESC) WHERE archived_at IS NOT NULL;
CREATE INDEX tasks_archivable_idx ON tasks ((coalesce(completed_at, skipped_at)))
    WHERE archived_at IS NULL AND status IN ('done', 'skipped');
CREATE INDEX tasks_archived_at_idx ON tasks (archived_at) WHERE archived_at IS NOT NULL;

-- +goose Down
DROP INDEX tasks_archived_at_idx, tasks_archivable_idx, tasks_user_archived_idx;
DROP INDEX tasks_user_created_idx, tasks_user_updated_idx, tasks_user_due_idx, tasks_user_due_desc_idx,
    tasks_user_priority_idx, tasks_user_title_idx, tasks_user_status_idx, tasks_tags_idx, tasks_words_idx,
    tasks_text_trgm_idx;
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC);
CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due_idx ON tasks (user_id, due_date, id);
CREATE INDEX tasks_user_due_desc_idx ON tasks (user_id, due_date DESC NULLS LAST, id DESC);
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END), id);
CREATE INDEX tasks_user_title_idx ON tasks (user_id, lower(title), id);
CREATE INDEX tasks_user_status_idx ON tasks (user_id, status, created_at DESC, id DESC);
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);
CREATE INDEX tasks_words_idx ON tasks USING gin (to_tsvector('simple', title || ' ' || description));
CREATE INDEX tasks_text_trgm_idx ON tasks USING gin ((title || ' ' || description) gin_trgm_ops);
DROP TRIGGER tasks_unarchive_reopened ON tasks;
DROP FUNCTION tasks_unarchive_reopened();
ALTER TABLE tasks DROP CONSTRAINT tasks_archived_closed, DROP COLUMN archived_at;
