package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// A task and its event are written together or not at all, though they
// travel in one round trip: when the event's row is refused, no task is
// left behind; the same task again is a conflict, not a second row.
func TestCreateWritesTheTaskAndItsEventTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	refused, user := testkit.User(), testkit.User()
	// DDL takes no parameters; the user id is a generated one.
	if _, err := st.Pool.Exec(ctx, `ALTER TABLE outbox ADD CONSTRAINT refuse_one_user CHECK (partition_key <> '`+refused+`')`); err != nil {
		t.Fatal(err)
	}
	title := "Water the plants"
	for _, u := range []string{refused, user} {
		tk, err := task.Draft{Title: &title}.Build(uuid.NewString(), u, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		evt, err := events.ForTask(events.TypeTaskCreated, "test", tk, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		err = st.CreateTask(ctx, tk, evt)
		stored := testkit.Count(t, st.Pool, `SELECT count(*) FROM tasks WHERE id = $1`, tk.ID)
		queued := testkit.Count(t, st.Pool, `SELECT count(*) FROM outbox WHERE event_id = $1`, evt.ID())
		if u == refused {
			if err == nil || stored != 0 || queued != 0 {
				t.Fatalf("refused event: err %v, %d task rows, %d outbox rows; want an error and neither", err, stored, queued)
			}
			continue
		}
		if err != nil || stored != 1 || queued != 1 {
			t.Fatalf("create: err %v, %d task rows, %d outbox rows", err, stored, queued)
		}
		if err := st.CreateTask(ctx, tk, evt); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("the same task again: %v, want a conflict", err)
		}
	}
}
