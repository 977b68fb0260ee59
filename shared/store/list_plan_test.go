package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// TestListPlansUseIndexes fills a table with 100,000 tasks of one user
// among 100,000 of a thousand others, and checks with EXPLAIN that every
// common filter and sort of the list, and a cursor page, are read
// through an index, never by scanning the table.
func TestListPlansUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	conn := st.Pool
	const user = "heavy-user"
	if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, title, description, status, priority, tags, due_date,
			completed_at, recurring_type, created_at, updated_at)
		SELECT gen_random_uuid(), CASE WHEN i % 2 = 0 THEN $1 ELSE 'other-' || (i % 1000) END,
			'task ' || i, CASE WHEN i % 7 = 0 THEN 'bank transfer ' || i ELSE '' END,
			(ARRAY['pending','in_progress','done'])[i % 3 + 1], (ARRAY['low','medium','high'])[i % 3 + 1],
			ARRAY['tag' || (i % 50)], CASE WHEN i % 4 = 0 THEN NULL ELSE now() + (i % 900 - 450) * interval '1 hour' END,
			CASE WHEN i % 3 = 2 THEN now() END, CASE WHEN i % 10 = 0 THEN 'daily' ELSE 'none' END,
			now() - i * interval '1 second', now() - i * interval '1 second'
		FROM generate_series(1, 200000) AS i`, user); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE tasks`); err != nil {
		t.Fatal(err)
	}
	now, yes := time.Now(), true
	first, _, err := st.ListTasks(ctx, user, contract.ListQuery{Limit: 1, Sort: contract.SortDue})
	if err != nil || len(first) != 1 {
		t.Fatalf("first task: %v", err)
	}
	after := contract.CursorOf(first[0], contract.SortDue)
	for name, q := range map[string]contract.ListQuery{
		"newest first":     {Desc: true},
		"open":             {Status: contract.FilterOpen, Desc: true},
		"done":             {Status: contract.FilterDone, Desc: true},
		"overdue":          {Status: contract.FilterOverdue, Sort: contract.SortDue},
		"priority":         {Priority: task.PriorityHigh, Desc: true},
		"a tag":            {Tags: []string{"tag7"}, Desc: true},
		"a word":           {Search: "transfer", Desc: true},
		"part of a word":   {Search: "ansfe", Desc: true},
		"due soon":         {DueBefore: &now, Sort: contract.SortDue},
		"recurring":        {Recurring: &yes, Desc: true},
		"by due date":      {Sort: contract.SortDue},
		"by due date desc": {Sort: contract.SortDue, Desc: true},
		"by priority":      {Sort: contract.SortPriority, Desc: true},
		"by title":         {Sort: contract.SortTitle},
		"by update":        {Sort: contract.SortUpdated, Desc: true},
		"after a cursor":   {Sort: contract.SortDue, After: &after},
		"archived":         {Archived: true, Desc: true},
	} {
		q.Limit, q.Now = 50, now
		page, args, _, _, err := store.ListSQL(user, q)
		if err != nil {
			t.Fatal(err)
		}
		// The count reads every match of the user, so the planner may
		// rightly scan; the page, limited, must come from an index.
		if plan := testkit.Explain(t, conn, page, args...); strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
			t.Errorf("%s does not read an index:\n%s", name, plan)
		}
	}
}
