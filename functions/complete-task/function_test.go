package function

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// seed stores a daily task of user and returns its id.
func seed(tb testing.TB, f *CompleteTask, user string) string {
	tb.Helper()
	title, daily := "Feed the cat", "daily"
	return testkit.Seed(tb, f.Runtime().Store, user, task.Draft{Title: &title, RecurringType: &daily}).ID
}

func eventsOf(tb testing.TB, f *CompleteTask, id, typ string) int {
	tb.Helper()
	return testkit.Count(tb, f.Runtime().Store.Pool,
		`SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = $2`, id, typ)
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	id := seed(t, f, user)
	path := "/api/" + user + "/tasks/" + id + "/complete"
	steps := []struct {
		name, body                 string
		wantStatus                 string
		wantCompleted, wantUpdated int
	}{
		{"no body toggles to done", "", "done", 1, 0},
		{"setting done again changes nothing", `{"completed":true}`, "done", 1, 0},
		{"no body toggles back to pending", "", "pending", 1, 1},
		{"setting pending again changes nothing", `{"completed":false}`, "pending", 1, 1},
		{"empty object toggles", `{}`, "done", 2, 1},
	}
	for _, s := range steps {
		var body []byte
		if s.body != "" {
			body = []byte(s.body)
		}
		rec := testkit.Do(t, f, "PATCH", path, testkit.Token(t, user), body)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d %s", s.name, rec.Code, rec.Body)
		}
		var got map[string]any
		testkit.Decode(t, rec, &got)
		if got["status"] != s.wantStatus || (got["completed_at"] != nil) != (s.wantStatus == "done") {
			t.Fatalf("%s: got %v", s.name, got)
		}
		if c, u := eventsOf(t, f, id, events.TypeTaskCompleted), eventsOf(t, f, id, events.TypeTaskUpdated); c != s.wantCompleted || u != s.wantUpdated {
			t.Fatalf("%s: %d completed and %d updated events, want %d and %d", s.name, c, u, s.wantCompleted, s.wantUpdated)
		}
	}
}

func TestCompletedEventCarriesTheSeedPayload(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	id := seed(t, f, user)
	testkit.Do(t, f, "PATCH", "/api/"+user+"/tasks/"+id+"/complete", testkit.Token(t, user), nil)
	var typ, source, subject, key, dct string
	var data map[string]any
	err := f.Runtime().Store.Pool.QueryRow(context.Background(), `SELECT event->>'type', event->>'source', event->>'subject',
		event->>'partitionkey', event->>'datacontenttype', event->'data' FROM outbox WHERE event->>'subject' = $1
		AND event->>'type' = $2`, id, events.TypeTaskCompleted).Scan(&typ, &source, &subject, &key, &dct, &data)
	if err != nil {
		t.Fatal(err)
	}
	if source != "/functions/complete-task" || subject != id || key != user || dct != "application/json" {
		t.Fatalf("attributes: %s %s %s %s", source, subject, key, dct)
	}
	for _, field := range []string{"event_type", "task_id", "user_id", "title", "recurring_type", "recurring_end_date", "completed_at"} {
		if _, ok := data[field]; !ok {
			t.Errorf("data lacks seed field %q: %v", field, data)
		}
	}
	if data["event_type"] != "task-completed" || data["task_id"] != id || data["recurring_type"] != "daily" {
		t.Fatalf("data: %v", data)
	}
}

func TestCompleteRejectsBadRequests(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	alice, bob := testkit.User(), testkit.User()
	id := seed(t, f, alice)
	path := "/api/" + alice + "/tasks/" + id + "/complete"
	cases := []struct {
		name, method, path, user, body string
		status                         int
	}{
		{"no token", "PATCH", path, "", "", 401},
		{"another user's token", "PATCH", path, bob, "", 403},
		{"another user's task", "PATCH", "/api/" + bob + "/tasks/" + id + "/complete", bob, "", 404},
		{"unknown task", "PATCH", "/api/" + alice + "/tasks/" + uuid.NewString() + "/complete", alice, "", 404},
		{"id not a UUID", "PATCH", "/api/" + alice + "/tasks/42'%20OR%201=1/complete", alice, "", 404},
		{"malformed JSON", "PATCH", path, alice, `{"completed":`, 400},
		{"wrong type", "PATCH", path, alice, `{"completed":"yes"}`, 400},
		{"unknown field", "PATCH", path, alice, `{"done":true}`, 400},
		{"wrong method", "GET", path, alice, "", 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.user != "" {
				tok = testkit.Token(t, tc.user)
			}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			testkit.ErrorCode(t, testkit.Do(t, f, tc.method, tc.path, tok, body), tc.status)
		})
	}
	var status string
	if err := f.Runtime().Store.Pool.QueryRow(context.Background(), `SELECT status FROM tasks WHERE id = $1`, id).Scan(&status); err != nil || status != "pending" {
		t.Fatalf("task changed by rejected requests: %s %v", status, err)
	}
	if n := eventsOf(t, f, id, events.TypeTaskCompleted) + eventsOf(t, f, id, events.TypeTaskUpdated); n != 0 {
		t.Fatalf("rejected requests wrote %d events", n)
	}
}
