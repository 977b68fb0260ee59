package allinone_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestPushesNeedTheAppToken(t *testing.T) {
	t.Parallel()
	e, id := completedEvent(t, testkit.User())
	body, _ := e.MarshalJSON()
	for name, headers := range map[string][]string{
		"no token":           nil,
		"wrong bearer":       {"Authorization", "Bearer " + strings.Repeat("x", 32)},
		"wrong dapr token":   {"dapr-api-token", strings.Repeat("x", 32)},
		"user token instead": {"Authorization", "Bearer " + testkit.Token(t, "someone")},
	} {
		h := append([]string{"Content-Type", "application/cloudevents+json"}, headers...)
		r := call(t, "POST", "/events/recur-task", "", body, h...)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"unauthorized"`) {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	if n := count(t, `SELECT count(*) FROM processed_events WHERE event_id = $1`, e.ID()); n != 0 || children(t, id) != 0 {
		t.Fatalf("a refused push changed the database: %d processed rows, %d occurrences", n, children(t, id))
	}
	r := call(t, "POST", "/events/recur-task", "", body, "Content-Type", "application/cloudevents+json",
		"dapr-api-token", testkit.AppToken)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"created"`) || children(t, id) != 1 {
		t.Fatalf("push with dapr-api-token: %d %s, %d children", r.status, r.body, children(t, id))
	}
}

// A malformed event pushed once must not stop the relay: the dead letter
// is a valid CloudEvent of our own, published like any other, and events
// behind it flow.
func TestMalformedPushCannotWedgeTheOutbox(t *testing.T) {
	t.Parallel()
	malformed := []byte(`{"specversion":"1.0","id":"wedge-` + testkit.User() + `","type":"x"}`)
	if r := push(t, "", malformed); r.status != http.StatusUnauthorized {
		t.Fatalf("malformed push without a token: %d %s", r.status, r.body)
	}
	r := push(t, testkit.AppToken, malformed)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"DROP"`) {
		t.Fatalf("malformed push: %d %s", r.status, r.body)
	}
	var id struct{ ID string }
	_ = json.Unmarshal(malformed, &id)
	eventually(t, "the dead letter published", func() bool {
		return count(t, `SELECT count(*) FROM outbox o WHERE topic = 'task-events-dlq'
			AND NOT EXISTS (SELECT 1 FROM outbox_waiting w WHERE w.seq = o.seq) AND convert_from(decode(event->'data'->>'raw', 'base64'), 'UTF8') LIKE '%' || $1 || '%'`, id.ID) == 1
	})
	user := testkit.User()
	tk := createTask(t, user, `{"title":"after the wedge","recurring_type":"daily"}`)
	complete(t, user, tk["id"].(string), "")
	eventually(t, "a completion behind the malformed push gets its occurrence", func() bool {
		return children(t, tk["id"].(string)) == 1
	})
	if n := count(t, `SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL`); n != 0 {
		t.Fatalf("%d outbox rows set aside", n)
	}
}

// A completion event the stored task does not confirm (forged, stale or
// about a task that does not exist) is acknowledged and changes nothing,
// and the answer does not tell which case it was.
func TestForgedCompletionChangesNothing(t *testing.T) {
	t.Parallel()
	victim := testkit.User()
	tk := createTask(t, victim, `{"title":"Take out the bins","recurring_type":"weekly"}`)
	id := tk["id"].(string)
	forge := func(taskID string, completedAt time.Time) reply {
		e, err := events.ForTask(events.TypeTaskCompleted, "attacker", task.Task{ID: taskID, UserID: victim,
			Title: "x", Status: task.StatusDone, RecurringType: task.RecurDaily, CompletedAt: &completedAt}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return pushEvent(t, e)
	}
	pending := forge(id, time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC))
	ghost := forge("8d0f3f4e-0000-4000-8000-000000000000", time.Now())
	for _, r := range []reply{pending, ghost} {
		if r.status != http.StatusOK || string(r.body) != `{"status":"SUCCESS","outcome":"stale"}`+"\n" {
			t.Fatalf("forged completion: %d %s", r.status, r.body)
		}
	}
	if n := children(t, id); n != 0 {
		t.Fatalf("a forged completion created %d occurrences", n)
	}
	done := complete(t, victim, id, "")
	// A forged event naming the real completion's task but another time
	// changes nothing either.
	if r := forge(id, time.Now().Add(time.Hour)); !strings.Contains(string(r.body), `"stale"`) {
		t.Fatalf("forged completion time: %s", r.body)
	}
	var next map[string]any
	eventually(t, "the real completion's occurrence", func() bool {
		for _, tk := range listTasks(t, victim, "?status=pending") {
			if tk["parent_task_id"] == id {
				next = tk
				return true
			}
		}
		return false
	})
	settle(t, victim)
	completedAt := parseTime(t, done["completed_at"])
	if due := parseTime(t, next["due_date"]); !due.Equal(completedAt.AddDate(0, 0, 7)) || children(t, id) != 1 {
		t.Fatalf("occurrence due %v (want %v), %d children", due, completedAt.AddDate(0, 0, 7), children(t, id))
	}
}

func TestKnownPathsAnswer405WithEveryAllowedMethod(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	tok := testkit.Token(t, user)
	id := "8d0f3f4e-0000-4000-8000-000000000001"
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/api/" + user + "/tasks", "GET, POST"},
		{"PUT", "/api/" + user + "/tasks/" + id + "/complete", "PATCH"},
		{"GET", "/events/recur-task", "POST"},
	} {
		r := call(t, tc.method, tc.path, tok, nil)
		allow := strings.Split(r.header.Get("Allow"), ", ")
		want := strings.Split(tc.allow, ", ")
		if r.status != http.StatusMethodNotAllowed || !sameSet(allow, want) || !strings.Contains(string(r.body), "method_not_allowed") {
			t.Fatalf("%s %s: %d Allow %q %s", tc.method, tc.path, r.status, r.header.Get("Allow"), r.body)
		}
	}
	if r := call(t, "GET", "/nowhere", tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown path: %d", r.status)
	}
	pre := call(t, "OPTIONS", "/api/"+user+"/tasks", "", nil, "Origin", "http://localhost:3000",
		"Access-Control-Request-Method", "POST")
	if pre.status/100 != 2 || pre.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("preflight through the gateway: %d %v", pre.status, pre.header)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}
