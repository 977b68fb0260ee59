package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
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
