package testkit

import (
	"fmt"
	"net/http"
	"testing"
)

// failures records what CheckContract reports instead of failing the test.
type failures struct {
	testing.TB
	got []string
}

func (f *failures) Helper()                        {}
func (f *failures) Errorf(format string, a ...any) { f.got = append(f.got, fmt.Sprintf(format, a...)) }
func (f *failures) Fatal(a ...any)                 { f.got = append(f.got, fmt.Sprint(a...)) }

// TestContractCatchesDrift: exchanges the document does not describe are
// reported; ones it does are not.
func TestContractCatchesDrift(t *testing.T) {
	t.Parallel()
	task := `{"id":"0b9f6b5e-3c38-4a8e-9b8e-6c1f1f0c9a11","user_id":"u","title":"t","description":"","status":"pending",
		"priority":"medium","tags":[],"due_date":null,"timezone":"UTC","recurring_type":"none","recurrence_basis":"completion",
		"recurring_end_date":null,"series_anchor":null,"parent_task_id":null,"completed_at":null,
		"recurrence_rule":null,"occurrence":null,"skipped_at":null,"reminders":[],
		"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","archived_at":null,"completed":false}`
	json := http.Header{"Content-Type": {"application/json"}}
	counted := http.Header{"Content-Type": {"application/json"}, "X-Total-Count": {"1"}}
	for _, tc := range []struct {
		name, method, path, reqBody string
		status                      int
		header                      http.Header
		respBody                    string
		ok                          bool
	}{
		{"a task", "GET", "/api/u/tasks/0b9f6b5e-3c38-4a8e-9b8e-6c1f1f0c9a11", "", 200, json, task, true},
		{"a list", "GET", "/api/u/tasks?status=pending&limit=5", "", 200, counted, `{"tasks":[` + task + `],"total":1,"next_cursor":null}`, true},
		{"a list as a bare array", "GET", "/api/u/tasks", "", 200, counted, "[" + task + "]", false},
		{"a list without its count", "GET", "/api/u/tasks", "", 200, json, `{"tasks":[],"total":0,"next_cursor":null}`, false},
		{"a task with a field too many", "GET", "/api/u/tasks/x", "", 200, json, task[:len(task)-1] + `,"colour":"red"}`, false},
		{"a canonical enum broken", "GET", "/api/u/tasks/x", "", 200, json, `{"status":"Done"}`, false},
		{"an undocumented status", "GET", "/api/u/tags", "", 418, json, `{}`, false},
		{"an error", "POST", "/api/u/tasks", `{"title":""}`, 400, json,
			`{"error":{"code":"invalid","message":"m","field":"title"},"detail":"m"}`, true},
		{"an error of another shape", "POST", "/api/u/tasks", `{}`, 400, json, `{"message":"bad"}`, false},
		{"an accepted body the document refuses", "POST", "/api/u/tasks", `{"titel":"x"}`, 201, json, task, false},
		{"a limit past the maximum accepted", "GET", "/api/u/tasks?limit=1000", "", 200, counted, `{"tasks":[],"total":0,"next_cursor":null}`, false},
		{"the list without the user segment", "GET", "/api/tasks?limit=5", "", 200, counted, `{"tasks":[],"total":0,"next_cursor":null}`, true},
		{"an unknown path answered 200", "GET", "/api/u/things", "", 200, json, "[]", false},
		{"an unknown path answered 404", "GET", "/api/u/things", "", 404, json,
			`{"error":{"code":"not_found","message":"m"},"detail":"m"}`, true},
	} {
		req, _ := http.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Content-Type", "application/json")
		f := &failures{TB: t}
		CheckContract(f, req, []byte(tc.reqBody), tc.status, tc.header, []byte(tc.respBody))
		if tc.ok != (len(f.got) == 0) {
			t.Errorf("%s: reports %q", tc.name, f.got)
		}
	}
}
