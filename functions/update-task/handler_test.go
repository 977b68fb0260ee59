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

func TestHandlerEditsCompletesAndChecksVersions(t *testing.T) {
	t.Parallel()
	st, user, clock := storetest.New(), testkit.User(), time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	title, daily := "Stretch", "daily"
	tk, _ := task.Draft{Title: &title, RecurringType: &daily}.Build(uuid.NewString(), user, clock.Add(-time.Hour))
	created, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
	if err := st.CreateTask(context.Background(), tk, created); err != nil {
		t.Fatal(err)
	}
	h := testkit.Serve(Handler{Tasks: st, WriteKit: app.WriteKit{
		Now: func() time.Time { return clock }, Guard: testkit.Guard()}}.Routes()...)
	path, tok := "/api/"+user+"/tasks/"+tk.ID, testkit.Token(t, user)
	steps := []struct {
		method, body, ifMatch string
		status                int
		event                 string
	}{
		{"PATCH", `{"priority":"High"}`, tk.ETag(), 200, events.TypeTaskUpdated},
		{"PATCH", `{"priority":"high"}`, "", 200, ""},
		{"PUT", `{"title":"Stretch"}`, tk.ETag(), 412, ""},
		{"PATCH", `{"status":"done"}`, "", 200, events.TypeTaskCompleted},
		{"PATCH", `{"completed":false}`, "", 200, events.TypeTaskUpdated},
		{"PATCH", `{"parent_task_id":"` + uuid.NewString() + `"}`, "", 400, ""},
		{"PATCH", `{"title":"x","owner":"y"}`, "", 400, ""},
		{"PUT", `{"description":"no title"}`, "", 400, ""},
	}
	for i, s := range steps {
		before := len(st.Events())
		rec := testkit.Do(t, h, s.method, path, tok, []byte(s.body), "If-Match", s.ifMatch)
		if rec.Code != s.status {
			t.Fatalf("step %d: %d %s", i, rec.Code, rec.Body)
		}
		evts := st.Events()[before:]
		if (s.event == "") != (len(evts) == 0) || (len(evts) == 1 && evts[0].Type() != s.event) {
			t.Fatalf("step %d: events %v, want %q", i, evts, s.event)
		}
		if s.status == 200 && rec.Header().Get("ETag") == "" {
			t.Fatalf("step %d: no ETag", i)
		}
	}
	if rec := testkit.Do(t, h, "PATCH", "/api/"+user+"/tasks/"+uuid.NewString(), tok, []byte(`{"title":"a"}`)); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown task: %d", rec.Code)
	}
}
