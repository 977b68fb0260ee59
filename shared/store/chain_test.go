package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/testkit"
)

// A daily task kept for 27 years is a 10,000-link series. It is read in
// pages of 100, every link once and in order, and its last page costs what
// its first does: the same index range, never a walk down the links or a
// scan of the table (buffers touched, from EXPLAIN ANALYZE).
func TestTenThousandLinkChainReadsInPagesAtTheCostOfTheFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	const links = 10_000
	user := testkit.User()
	ids, parents := make([]string, links), make([]*string, links)
	for i := range ids {
		ids[i] = uuid.NewString()
		if i > 0 {
			parents[i] = &ids[i-1]
		}
	}
	// One statement, in order: each row's trigger sees the rows before it.
	if _, err := st.Pool.Exec(ctx, `INSERT INTO tasks (id, user_id, title, recurring_type, parent_task_id, status, completed_at)
		SELECT id, $1, 'water the plants', 'daily', parent, 'done', now()
		FROM unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY AS link(id, parent, n) ORDER BY n`, user, ids, parents); err != nil {
		t.Fatal(err)
	}
	// Others' tasks beside it, so that a scan would show.
	if _, err := st.Pool.Exec(ctx, `INSERT INTO tasks (id, user_id, title)
		SELECT gen_random_uuid(), 'other-' || (i % 100), 't' FROM generate_series(1, 20000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `ANALYZE tasks`); err != nil {
		t.Fatal(err)
	}

	q := contract.ChainQuery{After: -1, Limit: 100}
	seen := 0
	for pages := 0; ; pages++ {
		page, err := st.Chain(ctx, user, ids[links/2], q)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range page.Tasks {
			if tk.ID != ids[seen] {
				t.Fatalf("link %d is %s, want %s", seen, tk.ID, ids[seen])
			}
			seen++
		}
		if page.Next == nil {
			break
		}
		if pages > links/100 {
			t.Fatal("pages never end")
		}
		q.After = *page.Next
	}
	if seen != links {
		t.Fatalf("read %d links, want %d", seen, links)
	}

	buffers := func(after int) float64 {
		var raw []byte
		if err := st.Pool.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+store.ChainSQL,
			user, ids[0], after, 101).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var plan []struct {
			Plan map[string]any `json:"Plan"`
		}
		if err := json.Unmarshal(raw, &plan); err != nil {
			t.Fatal(err)
		}
		hit, _ := plan[0].Plan["Shared Hit Blocks"].(float64)
		read, _ := plan[0].Plan["Shared Read Blocks"].(float64)
		return hit + read
	}
	first, last := buffers(-1), buffers(links-101)
	t.Logf("buffers first %v last %v", first, last)
	if first == 0 || last > 2*first+4 {
		t.Fatalf("the last page touches %v buffers, the first %v: a page must cost the same wherever it is", last, first)
	}
}
