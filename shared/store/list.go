package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/task"
)

// sortSQL orders by each key; priorities rank low < medium < high. Each
// expression has an index beside user_id (migration 00005).
var sortSQL = map[string]string{
	contract.SortCreated: "created_at", contract.SortUpdated: "updated_at", contract.SortDue: "due_date",
	contract.SortTitle: "lower(title)", contract.SortPriority: priorityRankSQL,
}

const priorityRankSQL = "(CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END)"

// openSQL selects the tasks still to do.
const openSQL = `status IN ('pending', 'in_progress')`

// listSQL builds the page query of q for userID and the count of all its
// matches, which shares the filter arguments.
func listSQL(userID string, q contract.ListQuery) (page string, pageArgs []any, count string, countArgs []any, err error) {
	// The archived and the others are apart: the list indexes cover only
	// the tasks that are not archived (their predicate is this one).
	where := ` FROM tasks WHERE user_id = $1 AND archived_at IS NULL`
	if q.Archived {
		where = ` FROM tasks WHERE user_id = $1 AND archived_at IS NOT NULL`
	}
	args := []any{userID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch q.Status {
	case contract.FilterOpen:
		where += ` AND ` + openSQL
	case contract.FilterInProgress, contract.FilterDone, contract.FilterSkipped:
		where += ` AND status = ` + arg(string(q.Status))
	case contract.FilterOverdue:
		where += ` AND ` + openSQL + ` AND due_date < ` + arg(q.Now)
	}
	if q.Priority != "" {
		// The rank, not the name: one index serves this filter and the sort.
		where += ` AND ` + priorityRankSQL + ` = ` + arg(contract.PriorityRank(q.Priority))
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
		key = sortSQL[contract.SortCreated]
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
			v, err := contract.KeyValue(q.Sort, *c.Key)
			if err != nil {
				return "", nil, "", nil, err
			}
			bound := arg(v)
			if q.Sort == contract.SortTitle {
				bound = `lower(` + bound + `::text)`
			}
			where += ` AND ((` + key + `, id)` + cmp + `(` + bound + `, ` + arg(c.ID) + `::uuid) OR ` + key + ` IS NULL)`
		}
	}
	if q.Sort == contract.SortDue {
		dir += " NULLS LAST" // the only key that can be missing; the others match their index as they are
	}
	page = `SELECT ` + taskColumns + where + ` ORDER BY ` + key + dir + `, id` + strings.TrimSuffix(dir, " NULLS LAST") +
		` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset)
	return page, args, count, countArgs, nil
}

// ListTasks returns userID's tasks that q selects, in q's order (ties by
// id, missing due dates last), one page, and how many match in all. The
// page and the count travel in one round trip; each reads an index.
func (s *Store) ListTasks(ctx context.Context, userID string, q contract.ListQuery) ([]task.Task, int, error) {
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
