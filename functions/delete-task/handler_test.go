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

func TestHandlerDeletesOnce(t *testing.T) {
	t.Parallel()
	st, user := storetest.New(), testkit.User()
	title := "Old"
	tk, _ := task.Draft{Title: &title}.Build(uuid.NewString(), user, time.Now())
	created, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
	if err := st.CreateTask(context.Background(), tk, created); err != nil {
		t.Fatal(err)
	}
	h := testkit.Serve(Handler{Tasks: st, WriteKit: app.WriteKit{
		Now: app.Now, Guard: testkit.Guard()}}.Routes()...)
	path, tok := "/api/"+user+"/tasks/"+tk.ID, testkit.Token(t, user)
	if rec := testkit.Do(t, h, "DELETE", path, tok, nil, "If-Match", `"stale"`); rec.Code != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d", rec.Code)
	}
	if rec := testkit.Do(t, h, "DELETE", path, "", nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", rec.Code)
	}
	if rec := testkit.Do(t, h, "DELETE", path, tok, nil, "If-Match", tk.ETag()); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := testkit.Do(t, h, "DELETE", path, tok, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("second delete: %d", rec.Code)
	}
	evts := st.Events()
	if len(evts) != 2 || evts[1].Type() != events.TypeTaskDeleted || evts[1].Subject() != tk.ID {
		t.Fatalf("events: %v", evts)
	}
}
