package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

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

// scanTask reads the task columns of row, and then any extra columns into
// extra.
func scanTask(row pgx.Row, extra ...any) (task.Task, error) {
	var t task.Task
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Title, &t.Description, &t.Status, &t.Priority, &t.Tags,
		&t.DueDate, &t.Timezone, &t.RecurringType, &t.RecurrenceBasis, &t.RecurringEndDate,
		&t.SeriesAnchor, &t.ParentTaskID, &t.CompletedAt, &t.CreatedAt, &t.UpdatedAt}, extra...)...)
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

// Filters: all; open (not done, the frontend's "pending"); in progress;
// done; overdue (not done, due before now).
const (
	FilterAll        StatusFilter = "all"
	FilterOpen       StatusFilter = "open"
	FilterInProgress StatusFilter = "in_progress"
	FilterDone       StatusFilter = "done"
	FilterOverdue    StatusFilter = "overdue"
)

// Sort keys of a task list.
const (
	SortCreated  = "created_at"
	SortUpdated  = "updated_at"
	SortDue      = "due_date"
	SortPriority = "priority"
	SortTitle    = "title"
)

// sortSQL orders by each key; priorities rank low < medium < high.
var sortSQL = map[string]string{
	SortCreated: "created_at", SortUpdated: "updated_at", SortDue: "due_date", SortTitle: "lower(title)",
	SortPriority: "CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END",
}

// ListQuery selects, orders and pages a user's tasks. Empty fields do not
// filter; all Tags must be on a task; Search matches words (full-text) or
// parts of words in the title and description.
type ListQuery struct {
	Status   StatusFilter
	Priority task.Priority
	Tags     []string
	Search   string
	// Due dates strictly before / after; nil does not filter.
	DueBefore, DueAfter *time.Time
	// Overdue (not done, due before Now) and Recurring select the tasks
	// that are (true) or are not (false); nil does not filter.
	Overdue, Recurring *bool
	// ParentTaskID selects the next occurrence of that task.
	ParentTaskID string
	Sort         string // a Sort key; empty means created_at
	Desc         bool
	Limit        int
	Offset       int
	Now          time.Time // for overdue
}

// ListTasks returns userID's tasks that q selects, in q's order (ties by
// id, missing due dates last), one page, and how many match in all.
func (s *Store) ListTasks(ctx context.Context, userID string, q ListQuery) ([]task.Task, int, error) {
	where := ` FROM tasks WHERE user_id = $1`
	args := []any{userID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch q.Status {
	case FilterOpen:
		where += ` AND status <> 'done'`
	case FilterInProgress, FilterDone:
		where += ` AND status = ` + arg(string(q.Status))
	case FilterOverdue:
		where += ` AND status <> 'done' AND due_date < ` + arg(q.Now)
	}
	if q.Priority != "" {
		where += ` AND priority = ` + arg(string(q.Priority))
	}
	if len(q.Tags) > 0 {
		where += ` AND tags @> ` + arg(q.Tags)
	}
	if q.DueBefore != nil {
		where += ` AND due_date < ` + arg(*q.DueBefore)
	}
	if q.DueAfter != nil {
		where += ` AND due_date > ` + arg(*q.DueAfter)
	}
	if q.Overdue != nil {
		overdue := `(status <> 'done' AND due_date IS NOT NULL AND due_date < ` + arg(q.Now) + `)`
		if !*q.Overdue {
			overdue = `NOT ` + overdue
		}
		where += ` AND ` + overdue
	}
	if q.Recurring != nil {
		op := " = "
		if *q.Recurring {
			op = " <> "
		}
		where += ` AND recurring_type` + op + `'none'`
	}
	if q.ParentTaskID != "" {
		where += ` AND parent_task_id = ` + arg(q.ParentTaskID)
	}
	if q.Search != "" {
		like := arg("%" + escapeLike(q.Search) + "%")
		where += ` AND (to_tsvector('simple', title || ' ' || description) @@ plainto_tsquery('simple', ` + arg(q.Search) +
			`) OR title ILIKE ` + like + ` OR description ILIKE ` + like + `)`
	}
	key, ok := sortSQL[q.Sort]
	if !ok {
		key = sortSQL[SortCreated]
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	// One round trip: the page and, beside each row, the number of matches.
	sql := `SELECT ` + taskColumns + `, count(*) OVER ()` + where + ` ORDER BY ` + key + dir + ` NULLS LAST, id` + dir +
		` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset)
	rows, err := s.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, classify(err)
	}
	total := 0
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Task, error) { return scanTask(r, &total) })
	if err != nil {
		return nil, 0, classify(err)
	}
	if len(tasks) == 0 && q.Offset > 0 {
		// A page past the end carries no count: ask for it.
		if err := s.Pool.QueryRow(ctx, `SELECT count(*)`+where, args[:len(args)-2]...).Scan(&total); err != nil {
			return nil, 0, classify(err)
		}
	}
	if tasks == nil {
		tasks = []task.Task{}
	}
	return tasks, total, nil
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
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

// TagCount is how many of a user's tasks carry a tag.
type TagCount struct {
	Tag   string `json:"tag"`
	Count int    `json:"count"`
}

// Tags returns userID's tags with their counts, most used first.
func (s *Store) Tags(ctx context.Context, userID string) ([]TagCount, error) {
	rows, err := s.Pool.Query(ctx, `SELECT tag, count(*) FROM tasks, unnest(tags) AS tag WHERE user_id = $1
		GROUP BY tag ORDER BY count(*) DESC, tag`, userID)
	if err != nil {
		return nil, classify(err)
	}
	tags, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TagCount, error) {
		var tc TagCount
		err := r.Scan(&tc.Tag, &tc.Count)
		return tc, err
	})
	if tags == nil {
		tags = []TagCount{}
	}
	return tags, classify(err)
}
