package outbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/testkit"
)

// TestCleanUpSkipsRecentRows: with 200,000 recent outbox rows, the relay's
// clean-up of old published rows reads the time index, not the table.
func TestCleanUpSkipsRecentRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	if _, err := st.Pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, partition_key, event, created_at, published_at)
		SELECT 'e' || i, 'task-events', 'user-' || (i % 100),
			jsonb_build_object('specversion', '1.0', 'id', 'e' || i, 'source', '/test', 'type', 'com.todo.task.created'),
			now() - (200000 - i) * interval '1 second', now() - (200000 - i) * interval '1 second'
		FROM generate_series(1, 200000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `VACUUM ANALYZE outbox`); err != nil {
		t.Fatal(err)
	}
	if plan := testkit.Explain(t, st.Pool, outbox.CleanSQL, float64(24*3600), "todo_outbox_test"); strings.Contains(plan, "Seq Scan") ||
		!strings.Contains(plan, "outbox_created_at_brin") {
		t.Fatalf("the clean-up reads the table:\n%s", plan)
	}
}
