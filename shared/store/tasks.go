package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/task"
)

const taskColumns = `id, user_id, title, description, status, priority, tags, due_date, timezone,
	recurring_type, recurrence_basis, recurring_end_date, series_anchor, parent_task_id,
	completed_at, created_at, updated_at`

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func scanTask(row pgx.Row) (task.Task, error) {
	var t task.Task
	err := row.Scan(&t.ID, &t.UserID, &t.Title, &t.Description, &t.Status, &t.Priority, &t.Tags,
		&t.DueDate, &t.Timezone, &t.RecurringType, &t.RecurrenceBasis, &t.RecurringEndDate,
		&t.SeriesAnchor, &t.ParentTaskID, &t.CompletedAt, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

func taskArgs(t task.Task) []any {
	return []any{t.ID, t.UserID, t.Title, t.Description, string(t.Status), string(t.Priority), t.Tags,
		t.DueDate, t.Timezone, string(t.RecurringType), string(t.RecurrenceBasis), t.RecurringEndDate,
		t.SeriesAnchor, t.ParentTaskID, t.CompletedAt, t.CreatedAt, t.UpdatedAt}
}

const insertTaskSQL = `INSERT INTO tasks (` + taskColumns + `)
	VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`

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

// StatusFilter selects tasks by completion.
type StatusFilter string

// Filters: all; open (not done, the frontend's "pending"); in progress; done.
const (
	FilterAll        StatusFilter = "all"
	FilterOpen       StatusFilter = "open"
	FilterInProgress StatusFilter = "in_progress"
	FilterDone       StatusFilter = "done"
)

// ListTasks returns userID's tasks, newest first, up to limit.
func (s *Store) ListTasks(ctx context.Context, userID string, filter StatusFilter, limit int) ([]task.Task, error) {
	sql := `SELECT ` + taskColumns + ` FROM tasks WHERE user_id = $1`
	args := []any{userID}
	switch filter {
	case FilterOpen:
		sql += ` AND status <> 'done'`
	case FilterInProgress, FilterDone:
		sql += ` AND status = $2`
		args = append(args, string(filter))
	}
	args = append(args, limit)
	sql += ` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(err)
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Task, error) { return scanTask(r) })
	if tasks == nil {
		tasks = []task.Task{}
	}
	return tasks, classify(err)
}
