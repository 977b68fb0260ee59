package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/testkit"
)

// TestProcessedEventsPurgeSkipsRecentRows: with 200,000 recent processed
// events, the purge of old ones reads an index, not the table.
func TestProcessedEventsPurgeSkipsRecentRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	if _, err := st.Pool.Exec(ctx, `INSERT INTO processed_events (consumer, event_id, processed_at)
		SELECT 'recur-task', gen_random_uuid()::text, now() - (200000 - i) * interval '1 second'
		FROM generate_series(1, 200000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `VACUUM ANALYZE processed_events`); err != nil {
		t.Fatal(err)
	}
	if plan := testkit.Explain(t, st.Pool, store.PurgeProcessedSQL, float64(7*24*3600)); strings.Contains(plan, "Seq Scan") ||
		!strings.Contains(plan, "processed_at_idx") {
		t.Fatalf("the purge reads the table:\n%s", plan)
	}
}
