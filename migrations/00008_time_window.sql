-- +goose Up
-- Every stored time of a task lies in the window the API accepts
-- (task.Earliest to task.Latest: 1970-01-01T00:00:00Z to
-- 9999-12-30T23:59:59.999999Z), so it reads as a four-digit year in every
-- time zone and every encoder round-trips it. Versions before this one
-- checked the year of the local reading only, so a due date at the end of
-- 9999 in a zone west of UTC was stored as year 10000 (which no JSON
-- encoder writes, and which wedged its events): such times are moved to the
-- nearest edge of the window (order is kept, so a due date and its end
-- date stay in order), then the window is enforced.
-- (GREATEST and LEAST skip NULLs, so the NULL checks keep missing times
-- missing.)
UPDATE tasks SET
    due_date = CASE WHEN due_date IS NOT NULL
        THEN least(greatest(due_date, '1970-01-01 00:00:00+00'), '9999-12-30 23:59:59.999999+00') END,
    recurring_end_date = CASE WHEN recurring_end_date IS NOT NULL
        THEN least(greatest(recurring_end_date, '1970-01-01 00:00:00+00'), '9999-12-30 23:59:59.999999+00') END,
    series_anchor = CASE WHEN series_anchor IS NOT NULL
        THEN least(greatest(series_anchor, '1970-01-01 00:00:00+00'), '9999-12-30 23:59:59.999999+00') END
WHERE due_date NOT BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-30 23:59:59.999999+00'
   OR recurring_end_date NOT BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-30 23:59:59.999999+00'
   OR series_anchor NOT BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-30 23:59:59.999999+00';

ALTER TABLE tasks
    ADD CONSTRAINT tasks_due_date_in_window
        CHECK (due_date BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-30 23:59:59.999999+00'),
    ADD CONSTRAINT tasks_end_date_in_window
        CHECK (recurring_end_date BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-30 23:59:59.999999+00'),
    ADD CONSTRAINT tasks_series_anchor_in_window
        CHECK (series_anchor BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-30 23:59:59.999999+00');

-- +goose Down
ALTER TABLE tasks
    DROP CONSTRAINT tasks_series_anchor_in_window,
    DROP CONSTRAINT tasks_end_date_in_window,
    DROP CONSTRAINT tasks_due_date_in_window;
