package function

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store/storetest"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

var clock = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fake is the handler on an in-memory store holding a daily task and a
// one-off task of user.
func fake(t *testing.T, user string) (http.Handler, *storetest.Store, task.Task, task.Task) {
	t.Helper()
	st := storetest.New()
	store := func(d task.Draft) task.Task {
		tk, err := d.Build(uuid.NewString(), user, clock.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		created, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
		if err := st.CreateTask(context.Background(), tk, created); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	title, weekly := "Water the plants", "FREQ=WEEKLY;BYDAY=MO,TH"
	daily := store(task.Draft{Title: &title, RecurrenceRule: &weekly})
	once := store(task.Draft{Title: &title})
	h := Handler{Tasks: st, WriteKit: app.WriteKit{Now: func() time.Time { return clock }, Guard: testkit.Guard()}}
	return testkit.Serve(h.Routes()...), st, daily, once
}

func TestSkipClosesAnOpenOccurrenceOnce(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, st, series, once := fake(t, user)
	tok := testkit.Token(t, user)
	path := "/api/" + user + "/tasks/" + series.ID + "/skip"
	for _, c := range []struct {
		name, path, token string
		body              []byte
		headers           []string
		want              int
	}{
		{"no token", path, "", nil, nil, http.StatusUnauthorized},
		{"another user's path", "/api/someone/tasks/" + series.ID + "/skip", tok, nil, nil, http.StatusForbidden},
		{"another user's task", "/api/" + testkit.User() + "/tasks/" + series.ID + "/skip", "", nil, nil, http.StatusUnauthorized},
		{"a body with a field", path, tok, []byte(`{"reason":"away"}`), nil, http.StatusBadRequest},
		{"a stale If-Match", path, tok, nil, []string{"If-Match", `"stale"`}, http.StatusPreconditionFailed},
		{"a task that does not repeat", "/api/" + user + "/tasks/" + once.ID + "/skip", tok, nil, nil, http.StatusBadRequest},
	} {
		if rec := testkit.Do(t, h, "POST", c.path, c.token, c.body, c.headers...); rec.Code != c.want {
			t.Fatalf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.want)
		}
	}
	if n := len(st.Events()); n != 2 {
		t.Fatalf("refused skips queued %d events", n-2)
	}
	rec := testkit.Do(t, h, "POST", path, tok, nil, "If-Match", series.ETag())
	var got task.Task
	testkit.Decode(t, rec, &got)
	if rec.Code != http.StatusOK || got.Status != task.StatusSkipped || got.SkippedAt == nil || !got.SkippedAt.Equal(clock) ||
		got.CompletedAt != nil || rec.Header().Get("ETag") != got.ETag() {
		t.Fatalf("skip: %d %s", rec.Code, rec.Body)
	}
	evts := st.Events()
	if last := evts[len(evts)-1]; len(evts) != 3 || last.Type() != events.TypeTaskSkipped || last.Subject() != series.ID {
		t.Fatalf("events: %v", evts)
	}
	if rec := testkit.Do(t, h, "POST", path, tok, []byte(`{}`)); rec.Code != http.StatusConflict || len(st.Events()) != 3 {
		t.Fatalf("skipping it again: %d %s, %d events", rec.Code, rec.Body, len(st.Events()))
	}
}
