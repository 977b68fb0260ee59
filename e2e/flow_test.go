package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/testkit"
)

func TestFlowOnRealKafka(t *testing.T) {
	items := seedRecurring(t, 60, 12)
	completeAll(t, items)
	took := waitChildren(t, ids(items), 60*time.Second)
	report(t, "%d completions by %d users over 3 partitions and 2 recur-task replicas: %d next occurrences, 0 duplicates, 0 lost (%.1fs)",
		len(items), 12, len(items), took.Seconds())
}

// TestCoreRulesOnBinaries repeats the core tier's rules against the real
// binaries and broker: completing twice, reopening and completing again, an
// ended series, and another user's access.
func TestCoreRulesOnBinaries(t *testing.T) {
	items := seedRecurring(t, 2, 1)
	user, twice, reopened := items[0].user, items[0].id, items[1].id
	patch := func(id, body string) {
		t.Helper()
		code, b, err := call("complete-task", "PATCH", "/api/"+user+"/tasks/"+id+"/complete", user, body)
		if err != nil || code != http.StatusOK {
			t.Fatalf("complete: %d %s %v", code, b, err)
		}
	}
	patch(twice, `{"completed":true}`)
	patch(twice, `{"completed":true}`)
	patch(reopened, "")
	patch(reopened, "")
	patch(reopened, "")
	code, body, err := call("create-task", "POST", "/api/"+user+"/tasks", user,
		`{"title":"ended","recurring_type":"daily","recurrence_basis":"schedule","due_date":"2026-01-01T09:00:00Z","recurring_end_date":"2026-01-01T12:00:00Z"}`)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	var ended struct{ ID string }
	_ = json.Unmarshal(body, &ended)
	patch(ended.ID, "")
	waitChildren(t, []string{twice, reopened}, time.Minute)
	waitCaughtUp(t, "recur-task")
	if have, _ := counts(t, []string{ended.ID}); have != 0 {
		t.Fatalf("an ended series got %d occurrences", have)
	}
	stranger := "stranger-" + user
	for _, c := range []struct {
		fn, method, path, as string
		want                 int
	}{
		{"read-tasks", "GET", "/api/" + user + "/tasks/" + twice, stranger, http.StatusForbidden},
		{"read-tasks", "GET", "/api/" + stranger + "/tasks/" + twice, stranger, http.StatusNotFound},
		{"complete-task", "PATCH", "/api/" + stranger + "/tasks/" + twice + "/complete", stranger, http.StatusNotFound},
	} {
		if code, b, _ := call(c.fn, c.method, c.path, c.as, ""); code != c.want {
			t.Fatalf("%s %s as %s: %d %s, want %d", c.method, c.path, c.as, code, b, c.want)
		}
	}
	report(t, "completed twice, reopened and completed again, an ended series, another user's access: 2 occurrences, 0 for the ended series, 403/404 for the stranger")
}

// TestRuleSeriesOnRealKafka walks an RFC 5545 series through the real
// binaries and broker: the last workday of the month, three times, on the
// schedule; completed, skipped, completed: each next occurrence on the
// rule's day, numbered, and none after the third.
func TestRuleSeriesOnRealKafka(t *testing.T) {
	user := testkit.User()
	code, id, body := createAs(t, user, `{"title":"Invoices","recurrence_rule":"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3",
		"recurrence_basis":"schedule","due_date":"2030-01-31T17:00","timezone":"America/New_York"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	ny, _ := time.LoadLocation("America/New_York")
	want := []time.Time{time.Date(2030, 2, 28, 17, 0, 0, 0, ny), time.Date(2030, 3, 29, 17, 0, 0, 0, ny)}
	closeBy := []struct{ fn, method, suffix string }{{"complete-task", "PATCH", "/complete"}, {"skip-task", "POST", "/skip"}, {"complete-task", "PATCH", "/complete"}}
	for i, step := range closeBy {
		if code, b, err := call(step.fn, step.method, "/api/"+user+"/tasks/"+id+step.suffix, user, ""); err != nil || code != http.StatusOK {
			t.Fatalf("occurrence %d %s: %d %s %v", i+1, step.suffix, code, b, err)
		}
		if i == len(closeBy)-1 {
			break
		}
		waitChildren(t, []string{id}, time.Minute)
		var next struct {
			ID         string
			DueDate    time.Time `json:"due_date"`
			Occurrence int
		}
		if err := sys.db.QueryRow(t.Context(), `SELECT id, due_date, occurrence FROM tasks WHERE parent_task_id = $1`, id).
			Scan(&next.ID, &next.DueDate, &next.Occurrence); err != nil {
			t.Fatal(err)
		}
		if !next.DueDate.Equal(want[i]) || next.Occurrence != i+2 {
			t.Fatalf("after occurrence %d: due %s (number %d), want %s (%d)", i+1, next.DueDate.In(ny), next.Occurrence, want[i].In(ny), i+2)
		}
		id = next.ID
	}
	waitCaughtUp(t, "recur-task")
	if have, _ := counts(t, []string{id}); have != 0 {
		t.Fatalf("the third of COUNT=3 got a next occurrence")
	}
	report(t, "a rule series (last workday of the month, COUNT=3) completed, skipped, completed through the binaries and the broker: 2 next occurrences on the rule's days, none after the third")
}
