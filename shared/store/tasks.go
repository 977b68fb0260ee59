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
	completed_at, created_at, updated_at, recurrence_rule, occurrence, skipped_at, reminders, archived_at`

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
		&t.SkippedAt, &t.Reminders, &t.ArchivedAt}, extra...)...)
	return t, err
}

func taskArgs(t task.Task) []any {
	return []any{t.ID, t.UserID, t.Title, t.Description, string(t.Status), string(t.Priority), t.Tags,
		t.DueDate, t.Timezone, string(t.RecurringType), string(t.RecurrenceBasis), t.RecurringEndDate,
		t.SeriesAnchor, t.ParentTaskID, t.CompletedAt, t.CreatedAt, t.UpdatedAt, t.RecurrenceRule, t.Occurrence,
		t.SkippedAt, remindersArg(t.Reminders), t.ArchivedAt, t.NextReminder()}
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
	VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)`

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

// chainSQL reads the links of task $2's series of user $1 after position
// $3, at most $4 of them, in order: one range of tasks_series_idx.
const chainSQL = `SELECT ` + taskColumns + `, series_position FROM tasks
	WHERE user_id = $1 AND series_id = (SELECT series_id FROM tasks WHERE id = $2 AND user_id = $1)
	  AND series_position > $3
	ORDER BY series_position LIMIT $4`

// Chain returns a page of the series task id of userID belongs to, by
// position: one index range however long the series is.
func (s *Store) Chain(ctx context.Context, userID, id string, q contract.ChainQuery) (contract.ChainPage, error) {
	rows, err := s.Pool.Query(ctx, chainSQL, userID, id, q.After, q.Limit+1)
	if err != nil {
		return contract.ChainPage{}, classify(err)
	}
	page := contract.ChainPage{Tasks: []task.Task{}}
	var last int
	for rows.Next() {
		if len(page.Tasks) == q.Limit {
			page.Next = &last
			break
		}
		t, err := scanTask(rows, &last)
		if err != nil {
			rows.Close()
			return contract.ChainPage{}, classify(err)
		}
		page.Tasks = append(page.Tasks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return contract.ChainPage{}, classify(err)
	}
	if len(page.Tasks) == 0 {
		// An empty page of a task that exists (past its series' end), or
		// no such task.
		if _, err := s.GetTask(ctx, userID, id); err != nil {
			return contract.ChainPage{}, err
		}
	}
	return page, nil
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
