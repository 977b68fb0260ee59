-- +goose Up
-- Every list filter and sort of GET /api/{user_id}/tasks reads an index,
-- so a user with 100,000 tasks gets any page quickly. Each sort key has a
-- (user_id, key, id) index matching ORDER BY key NULLS LAST, id (a
-- backward scan serves the other direction; due dates, which can be
-- missing, have one per direction since missing ones sort last both ways).
CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due_idx ON tasks (user_id, due_date, id);
CREATE INDEX tasks_user_due_desc_idx ON tasks (user_id, due_date DESC NULLS LAST, id DESC);
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END), id);
CREATE INDEX tasks_user_title_idx ON tasks (user_id, lower(title), id);
CREATE INDEX tasks_user_status_idx ON tasks (user_id, status, created_at DESC, id DESC);
-- Tags (all must match: tags @> $n) and text search: whole words by
-- full-text search, parts of words by trigrams (pg_trgm is a trusted
-- extension: the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);
CREATE INDEX tasks_words_idx ON tasks USING gin (to_tsvector('simple', title || ' ' || description));
CREATE INDEX tasks_text_trgm_idx ON tasks USING gin ((title || ' ' || description) gin_trgm_ops);

-- +goose Down
DROP INDEX tasks_text_trgm_idx;
DROP INDEX tasks_words_idx;
DROP INDEX tasks_tags_idx;
DROP INDEX tasks_user_status_idx;
DROP INDEX tasks_user_title_idx;
DROP INDEX tasks_user_priority_idx;
DROP INDEX tasks_user_due_desc_idx;
DROP INDEX tasks_user_due_idx;
DROP INDEX tasks_user_updated_idx;
