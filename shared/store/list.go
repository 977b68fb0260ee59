package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/task"
)

// StatusFilter selects tasks by completion.
type StatusFilter string

// Filters: all; open (pending or in progress: the frontends' "pending");
// in progress; done; skipped; overdue (open, due before now).
const (
	FilterAll        StatusFilter = "all"
	FilterOpen       StatusFilter = "open"
	FilterInProgress StatusFilter = "in_progress"
	FilterDone       StatusFilter = "done"
	FilterSkipped    StatusFilter = "skipped"
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

// sortSQL orders by each key; priorities rank low < medium < high. Each
// expression has an index beside user_id (migration 00005).
var sortSQL = map[string]string{
	SortCreated: "created_at", SortUpdated: "updated_at", SortDue: "due_date", SortTitle: "lower(title)",
	SortPriority: priorityRankSQL,
}

const priorityRankSQL = "(CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END)"

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
	// A page starts Offset tasks in, or right after the task After names
	// (keyset paging; After's sort must be the query's).
	Offset int
	After  *Cursor
	Now    time.Time // for overdue
}

// Cursor is a position in a sorted list: the sort key of a task (nil for
// a missing due date) and its id. Key is the sort column as text: a
// timestamp in RFC 3339, a priority rank, or a title.
type Cursor struct {
	Key *string
	ID  string
}

// CursorOf is the position of t in a list sorted by key sort.
func CursorOf(t task.Task, sort string) Cursor {
	var key string
	switch sort {
	case SortDue:
		if t.DueDate == nil {
			return Cursor{ID: t.ID}
		}
		key = t.DueDate.UTC().Format(time.RFC3339Nano)
	case SortUpdated:
		key = t.UpdatedAt.UTC().Format(time.RFC3339Nano)
	case SortPriority:
		key = strconv.Itoa(PriorityRank(t.Priority))
	case SortTitle:
		key = t.Title
	default:
		key = t.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	return Cursor{Key: &key, ID: t.ID}
}

// PriorityRank orders priorities: low 0, medium 1, high 2.
func PriorityRank(p task.Priority) int {
	switch p {
	case task.PriorityLow:
		return 0
	case task.PriorityMedium:
		return 1
	}
	return 2
}

// KeyValue converts a cursor key back to the sort column's type; an
// error means the key is not one sort could have produced.
func KeyValue(sort, key string) (any, error) {
	switch sort {
	case SortTitle:
		return key, nil
	case SortPriority:
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 || n > 2 {
			return nil, strconv.ErrSyntax
		}
		return n, nil
	}
	return time.Parse(time.RFC3339Nano, key)
}

// openSQL selects the tasks still to do.
const openSQL = `status IN ('pending', 'in_progress')`

// listSQL builds the page query of q for userID and the count of all its
// matches, which shares the filter arguments.
func listSQL(userID string, q ListQuery) (page string, pageArgs []any, count string, countArgs []any, err error) {
	where := ` FROM tasks WHERE user_id = $1`
	args := []any{userID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch q.Status {
	case FilterOpen:
		where += ` AND ` + openSQL
	case FilterInProgress, FilterDone, FilterSkipped:
		where += ` AND status = ` + arg(string(q.Status))
	case FilterOverdue:
		where += ` AND ` + openSQL + ` AND due_date < ` + arg(q.Now)
	}
	if q.Priority != "" {
		// The rank, not the name: one index serves this filter and the sort.
		where += ` AND ` + priorityRankSQL + ` = ` + arg(PriorityRank(q.Priority))
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
		overdue := `(` + openSQL + ` AND due_date IS NOT NULL AND due_date < ` + arg(q.Now) + `)`
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
		// Both arms have a GIN index: full-text words and trigrams.
		where += ` AND (to_tsvector('simple', title || ' ' || description) @@ plainto_tsquery('simple', ` + arg(q.Search) +
			`) OR (title || ' ' || description) ILIKE ` + arg("%"+escapeLike(q.Search)+"%") + `)`
	}
	count, countArgs = `SELECT count(*)`+where, append([]any(nil), args...)

	key, ok := sortSQL[q.Sort]
	if !ok {
		key = sortSQL[SortCreated]
	}
	dir, cmp := " ASC", " > "
	if q.Desc {
		dir, cmp = " DESC", " < "
	}
	if c := q.After; c != nil {
		// Rows after c in ORDER BY key dir NULLS LAST, id dir.
		if c.Key == nil {
			where += ` AND ` + key + ` IS NULL AND id` + cmp + arg(c.ID)
		} else {
			v, err := KeyValue(q.Sort, *c.Key)
			if err != nil {
				return "", nil, "", nil, err
			}
			bound := arg(v)
			if q.Sort == SortTitle {
				bound = `lower(` + bound + `::text)`
			}
			where += ` AND ((` + key + `, id)` + cmp + `(` + bound + `, ` + arg(c.ID) + `::uuid) OR ` + key + ` IS NULL)`
		}
	}
	if q.Sort == SortDue {
		dir += " NULLS LAST" // the only key that can be missing; the others match their index as they are
	}
	page = `SELECT ` + taskColumns + where + ` ORDER BY ` + key + dir + `, id` + strings.TrimSuffix(dir, " NULLS LAST") +
		` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset)
	return page, args, count, countArgs, nil
}

// ListTasks returns userID's tasks that q selects, in q's order (ties by
// id, missing due dates last), one page, and how many match in all. The
// page and the count travel in one round trip; each reads an index.
func (s *Store) ListTasks(ctx context.Context, userID string, q ListQuery) ([]task.Task, int, error) {
	page, pageArgs, count, countArgs, err := listSQL(userID, q)
	if err != nil {
		return nil, 0, err
	}
	var batch pgx.Batch
	tasks := []task.Task{}
	total := 0
	batch.Queue(page, pageArgs...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				return err
			}
			tasks = append(tasks, t)
		}
		return rows.Err()
	})
	batch.Queue(count, countArgs...).QueryRow(func(row pgx.Row) error { return row.Scan(&total) })
	if err := s.Pool.SendBatch(ctx, &batch).Close(); err != nil {
		return nil, 0, classify(err)
	}
	return tasks, total, nil
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
