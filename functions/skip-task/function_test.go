package function

import (
	"net/http"
	"testing"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// On PostgreSQL: the skip and its event are stored together; a completed
// task cannot be skipped, and nothing is written for it.
func TestSkipOnPostgreSQL(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	st := f.Runtime().Store
	user := testkit.User()
	title, daily := "Stretch", "daily"
	open := testkit.Seed(t, st, user, task.Draft{Title: &title, RecurringType: &daily})
	done := true
	closed := testkit.Seed(t, st, user, task.Draft{Title: &title, RecurringType: &daily, Completed: &done})
	rec := testkit.Do(t, f, "POST", "/api/"+user+"/tasks/"+open.ID+"/skip", testkit.Token(t, user), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("skip: %d %s", rec.Code, rec.Body)
	}
	if n := testkit.Count(t, st.Pool, `SELECT count(*) FROM tasks WHERE id = $1 AND status = 'skipped' AND skipped_at IS NOT NULL
		AND completed_at IS NULL`, open.ID); n != 1 {
		t.Fatal("the skip was not stored")
	}
	if n := testkit.Count(t, st.Pool, `SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = $2
		AND event->'data'->>'skipped_at' IS NOT NULL`, open.ID, events.TypeTaskSkipped); n != 1 {
		t.Fatalf("%d skipped events queued, want 1", n)
	}
	before := testkit.Count(t, st.Pool, `SELECT count(*) FROM outbox`)
	if rec := testkit.Do(t, f, "POST", "/api/"+user+"/tasks/"+closed.ID+"/skip", testkit.Token(t, user), nil); rec.Code != http.StatusConflict {
		t.Fatalf("skipping a completed task: %d %s", rec.Code, rec.Body)
	}
	if after := testkit.Count(t, st.Pool, `SELECT count(*) FROM outbox`); after != before {
		t.Fatal("a refused skip queued an event")
	}
}
