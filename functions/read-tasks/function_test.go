package function

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/todoevents/todo/internal/testenv"
	"github.com/todoevents/todo/shared/task"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func seed(tb testing.TB, f *Function, user, title string, status task.Status) string {
	tb.Helper()
	return testenv.Seed(tb, f.Runtime().Store, user, task.Draft{Title: &title, Status: &status}).ID
}

func titles(tb testing.TB, f *Function, user, query string) []string {
	tb.Helper()
	rec := testenv.Do(tb, f, "GET", "/api/"+user+"/tasks"+query, testenv.Token(tb, user), nil)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	var list []task.Task
	testenv.Decode(tb, rec, &list)
	out := []string{}
	for _, t := range list {
		out = append(out, t.Title)
	}
	return out
}

func TestListFiltersAndOrder(t *testing.T) {
	t.Parallel()
	f := testenv.Start(t, New(), nil)
	user := testenv.User()
	seed(t, f, user, "first", task.StatusPending)
	seed(t, f, user, "second", task.StatusInProgress)
	seed(t, f, user, "third", task.StatusDone)
	seed(t, f, testenv.User(), "someone else's", task.StatusPending)
	cases := map[string][]string{
		"":                    {"third", "second", "first"},
		"?status=all":         {"third", "second", "first"},
		"?status=pending":     {"second", "first"},
		"?status=in_progress": {"second"},
		"?status=completed":   {"third"},
		"?status=done":        {"third"},
		"?limit=1":            {"third"},
	}
	for q, want := range cases {
		got := titles(t, f, user, q)
		if len(got) != len(want) {
			t.Fatalf("%q: got %v, want %v", q, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%q: got %v, want %v", q, got, want)
			}
		}
	}
	if got := titles(t, f, testenv.User(), ""); len(got) != 0 {
		t.Fatalf("new user sees %v", got)
	}
}

func TestGetAndAccess(t *testing.T) {
	t.Parallel()
	f := testenv.Start(t, New(), nil)
	alice, bob := testenv.User(), testenv.User()
	id := seed(t, f, alice, "mine", task.StatusPending)
	rec := testenv.Do(t, f, "GET", "/api/"+alice+"/tasks/"+id, testenv.Token(t, alice), nil)
	var got map[string]any
	testenv.Decode(t, rec, &got)
	if rec.Code != http.StatusOK || got["id"] != id || got["completed"] != false {
		t.Fatalf("get: %d %v", rec.Code, got)
	}
	cases := []struct {
		name, path, user string
		status           int
	}{
		{"another user's task", "/api/" + bob + "/tasks/" + id, bob, 404},
		{"another user's path", "/api/" + alice + "/tasks/" + id, bob, 403},
		{"another user's list", "/api/" + alice + "/tasks", bob, 403},
		{"no token", "/api/" + alice + "/tasks", "", 401},
		{"unknown id", "/api/" + alice + "/tasks/" + uuid.NewString(), alice, 404},
		{"id not a UUID", "/api/" + alice + "/tasks/abc", alice, 404},
		{"bad status filter", "/api/" + alice + "/tasks?status=archived", alice, 400},
		{"bad limit", "/api/" + alice + "/tasks?limit=0", alice, 400},
		{"limit not a number", "/api/" + alice + "/tasks?limit=ten", alice, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.user != "" {
				tok = testenv.Token(t, tc.user)
			}
			testenv.ErrorCode(t, testenv.Do(t, f, "GET", tc.path, tok, nil), tc.status)
		})
	}
}
