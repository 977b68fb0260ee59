package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/task"
)

const taskColumns = `id, user_id, title, description, status, priority, tags, due_date, timezone,
	recurring_type, recurrence_basis, recurring_end_date, series_anchor, parent_task_id,
	completed_at, created_at, updated_at, recurrence_rule, occurrence, skipped_at, reminders`

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// scanTask reads the task columns of row, and then any extra columns into
// extra.
func scanTask(row pgx.Row, extra ...any) (task.Task, error) {
	var t task.Task
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Title, &t.Description, &t.Status, &t.Priority, &t.Tags,
		&t.DueDate, &t.Timezone, &t.RecurringType, &t.RecurrenceBasis, &t.RecurringEndDate,
		&t.SeriesAnchor, &t.ParentTaskID, &t.CompletedAt, &t.CreatedAt, &t.UpdatedAt, &t.RecurrenceRule, &t.Occurrence,
		&t.SkippedAt, &t.Reminders}, extra...)...)
	return t, err
}

func taskArgs(t task.Task) []any {
	return []any{t.ID, t.UserID, t.Title, t.Description, string(t.Status), string(t.Priority), t.Tags,
		t.DueDate, t.Timezone, string(t.RecurringType), string(t.RecurrenceBasis), t.RecurringEndDate,
		t.SeriesAnchor, t.ParentTaskID, t.CompletedAt, t.CreatedAt, t.UpdatedAt, t.RecurrenceRule, t.Occurrence,
		t.SkippedAt, remindersArg(t.Reminders), t.NextReminder()}
}

// remindersArg is rs for the jsonb column: an array, never null.
func remindersArg(rs []task.Reminder) []task.Reminder {
	if rs == nil {
		return []task.Reminder{}
	}
	return rs
}

// insertTaskSQL inserts taskArgs: the task's columns and next_remind_at,
// which is derived from its reminders.
const insertTaskSQL = `INSERT INTO tasks (` + taskColumns + `, next_remind_at)
	VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)`

// getTask loads one task of userID; lock takes a row lock for an update.
func getTask(ctx context.Context, q querier, userID, id string, lock bool) (task.Task, error) {
	sql := `SELECT ` + taskColumns + ` FROM tasks WHERE id = $1 AND user_id = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	t, err := scanTask(q.QueryRow(ctx, sql, id, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return task.Task{}, apperr.New(apperr.NotFound, "task %s not found", id)
	}
	return t, err
}

// GetTask returns task id of userID; another user's task is not found.
func (s *Store) GetTask(ctx context.Context, userID, id string) (task.Task, error) {
	t, err := getTask(ctx, s.Pool, userID, id, false)
	return t, classify(err)
}

// Chain returns the series task id of userID belongs to: its ancestors
// through parent_task_id, the task, and its next occurrences, oldest first.
func (s *Store) Chain(ctx context.Context, userID, id string) ([]task.Task, error) {
	rows, err := s.Pool.Query(ctx, `WITH RECURSIVE
		up AS (SELECT id, parent_task_id FROM tasks WHERE id = $1 AND user_id = $2
			UNION SELECT t.id, t.parent_task_id FROM tasks t JOIN up ON t.id = up.parent_task_id WHERE t.user_id = $2),
		down AS (SELECT id FROM tasks WHERE id = $1 AND user_id = $2
			UNION SELECT t.id FROM tasks t JOIN down ON t.parent_task_id = down.id WHERE t.user_id = $2)
		SELECT `+taskColumns+` FROM tasks WHERE user_id = $2 AND (id IN (SELECT id FROM up) OR id IN (SELECT id FROM down))
		ORDER BY created_at, id`, id, userID)
	if err != nil {
		return nil, classify(err)
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Task, error) { return scanTask(r) })
	if err == nil && len(tasks) == 0 {
		err = apperr.New(apperr.NotFound, "task %s not found", id)
	}
	return tasks, classify(err)
}

// Tags returns userID's tags with their counts, most used first.
func (s *Store) Tags(ctx context.Context, userID string, q contract.TagQuery) ([]contract.TagCount, error) {
	limit := any(nil)
	if q.Limit > 0 {
		limit = q.Limit
	}
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.Prefix)) + "%"
	rows, err := s.Pool.Query(ctx, `SELECT tag, count(*) FROM tasks, unnest(tags) AS tag
		WHERE user_id = $1 AND lower(tag) LIKE $2
		GROUP BY tag ORDER BY count(*) DESC, tag LIMIT $3`, userID, like, limit)
	if err != nil {
		return nil, classify(err)
	}
	tags, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (contract.TagCount, error) {
		var tc contract.TagCount
		err := r.Scan(&tc.Tag, &tc.Count)
		return tc, err
	})
	if tags == nil {
		tags = []contract.TagCount{}
	}
	return tags, classify(err)
}
