-- +goose Up
-- The relay deletes published outbox rows after OUTBOX_RETENTION, finding
-- them by time. Rows are written in time order, so a BRIN index on
-- created_at (a few pages, next to nothing to maintain on each insert) lets
-- that delete skip the recent part of the table instead of reading all of it.
CREATE INDEX outbox_created_at_brin ON outbox USING brin (created_at);

-- +goose Down
DROP INDEX outbox_created_at_brin;
