package function

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store/storetest"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

var clock = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fake is the handler on an in-memory store holding one pending task of
// user.
func fake(t *testing.T, user string) (http.Handler, *storetest.Store, string) {
	t.Helper()
	st := storetest.New()
	title := "Feed the cat"
	tk, err := task.Draft{Title: &title}.Build(uuid.NewString(), user, clock.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	created, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
	if err := st.CreateTask(context.Background(), tk, created); err != nil {
		t.Fatal(err)
	}
	h := Handler{Tasks: st, WriteKit: app.WriteKit{Now: func() time.Time { return clock },
		Guard: testkit.Guard()}}
	return testkit.Serve(h.Routes()...), st, tk.ID
}

func TestHandlerTogglesAndSetsCompletion(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, st, id := fake(t, user)
	path := "/api/" + user + "/tasks/" + id + "/complete"
	steps := []struct {
		body      string
		wantDone  bool
		wantEvent string // "" when nothing changes
	}{
		{"", true, events.TypeTaskCompleted},
		{`{"completed":true}`, true, ""},
		{"", false, events.TypeTaskUpdated},
		{`{"completed":false}`, false, ""},
		{`{"completed":true}`, true, events.TypeTaskCompleted},
	}
	for i, step := range steps {
		before := len(st.Events())
		var body []byte
		if step.body != "" {
			body = []byte(step.body)
		}
		rec := testkit.Do(t, h, "PATCH", path, testkit.Token(t, user), body)
		var got task.Task
		testkit.Decode(t, rec, &got)
		if rec.Code != http.StatusOK || got.Completed() != step.wantDone {
			t.Fatalf("step %d: %d, done %v", i, rec.Code, got.Completed())
		}
		if etag := rec.Header().Get("ETag"); etag != got.ETag() {
			t.Fatalf("step %d: ETag %q, want the task's version %q", i, etag, got.ETag())
		}
		if step.wantDone && !got.CompletedAt.Equal(clock) && step.wantEvent != "" {
			t.Fatalf("step %d: completed at %v, not the handler's clock", i, got.CompletedAt)
		}
		evts := st.Events()[before:]
		if (step.wantEvent == "") != (len(evts) == 0) || (len(evts) == 1 && evts[0].Type() != step.wantEvent) {
			t.Fatalf("step %d: events %v, want %q", i, evts, step.wantEvent)
		}
	}
}

func TestHandlerRefusals(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, st, id := fake(t, user)
	tok := testkit.Token(t, user)
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
	}{
		{"no token", "/api/" + user + "/tasks/" + id + "/complete", "", "", 401},
		{"another user's task", "/api/" + user + "x/tasks/" + id + "/complete", testkit.Token(t, user+"x"), "", 404},
		{"not a task id", "/api/" + user + "/tasks/42/complete", tok, "", 404},
		{"bad body", "/api/" + user + "/tasks/" + id + "/complete", tok, `{"completed":"yes"}`, 400},
		{"unknown field", "/api/" + user + "/tasks/" + id + "/complete", tok, `{"done":true}`, 400},
	} {
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		testkit.ErrorCode(t, testkit.Do(t, h, "PATCH", tc.path, tc.token, body), tc.status)
	}
	if n := len(st.Events()); n != 1 {
		t.Fatalf("refused requests queued %d events", n-1)
	}
	st.Err = apperr.New(apperr.Unavailable, "database unavailable, try again")
	testkit.ErrorCode(t, testkit.Do(t, h, "PATCH", "/api/"+user+"/tasks/"+id+"/complete", tok, nil), http.StatusServiceUnavailable)
}

// A stale If-Match is refused (412) and completes nothing, as on PATCH and
// DELETE of the task; the current version, or none, completes it.
func TestHandlerHonoursIfMatch(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, st, id := fake(t, user)
	path := "/api/" + user + "/tasks/" + id + "/complete"
	current, err := st.GetTask(context.Background(), user, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := testkit.Do(t, h, "PATCH", path, testkit.Token(t, user), nil, "If-Match", `"stale"`)
	if code, _ := testkit.ErrorCode(t, rec, http.StatusPreconditionFailed); code != "precondition_failed" || len(st.Events()) != 1 {
		t.Fatalf("stale If-Match: %s, %d events", rec.Body, len(st.Events()))
	}
	if rec := testkit.Do(t, h, "PATCH", path, testkit.Token(t, user), nil, "If-Match", current.ETag()); rec.Code != http.StatusOK {
		t.Fatalf("current If-Match: %d %s", rec.Code, rec.Body)
	}
	if rec := testkit.Do(t, h, "PATCH", path, testkit.Token(t, user), nil, "If-Match", current.ETag()); rec.Code != http.StatusPreconditionFailed {
		t.Fatalf("the version before the completion: %d %s", rec.Code, rec.Body)
	}
}
