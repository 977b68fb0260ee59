package allinone_test

import (
	"net/http"
	"testing"

	"github.com/todoevents/todo/shared/testkit"
)

// TestUpdateAndDeleteThroughTheGateway: the routes real frontends call to
// edit, complete, reopen and delete.
func TestUpdateAndDeleteThroughTheGateway(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	tok := testkit.Token(t, user)
	tk := createTask(t, user, `{"title":"Stretch","recurring_type":"daily","priority":"Medium"}`)
	id := tk["id"].(string)
	path := "/api/" + user + "/tasks/" + id

	r := call(t, "GET", path, tok, nil)
	etag := r.header.Get("ETag")
	if r.status != http.StatusOK || etag == "" {
		t.Fatalf("read: %d, ETag %q", r.status, etag)
	}
	r = call(t, "PATCH", path, tok, []byte(`{"title":"Stretch more","priority":"High"}`), "If-Match", etag)
	mustStatus(t, r, http.StatusOK)
	if got := r.task(t); got["title"] != "Stretch more" || got["priority"] != "high" || r.header.Get("ETag") == etag {
		t.Fatalf("patch: %v, ETag %q", got, r.header.Get("ETag"))
	}
	if r := call(t, "PUT", path, tok, []byte(`{"title":"stale"}`), "If-Match", etag); r.status != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", path, tok, []byte(`{"description":"no title"}`)); r.status != http.StatusBadRequest {
		t.Fatalf("PUT without a title: %d %s", r.status, r.body)
	}
	// Completing through an update is completing: one next occurrence.
	mustStatus(t, call(t, "PATCH", path, tok, []byte(`{"status":"Completed"}`)), http.StatusOK)
	eventually(t, "the next occurrence of an update to done", func() bool { return children(t, id) == 1 })
	// Reopening and completing again never adds a second one.
	mustStatus(t, call(t, "PATCH", path, tok, []byte(`{"completed":false}`)), http.StatusOK)
	mustStatus(t, call(t, "PUT", path, tok, []byte(`{"title":"Stretch more","completed":true}`)), http.StatusOK)
	settle(t, user)
	if n := children(t, id); n != 1 {
		t.Fatalf("%d occurrences after reopening and completing again", n)
	}
	for typ, want := range map[string]int{"com.todo.task.updated": 2, "com.todo.task.completed": 2} {
		if n := count(t, `SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = $2`, id, typ); n != want {
			t.Fatalf("%d %s events, want %d", n, typ, want)
		}
	}
	r = call(t, "GET", path+"/chain", tok, nil)
	var chain []map[string]any
	r.json(t, &chain)
	if r.status != http.StatusOK || len(chain) != 2 || chain[0]["id"] != id || chain[1]["parent_task_id"] != id {
		t.Fatalf("chain: %d %v", r.status, chain)
	}
	// Deleting the completed task keeps its occurrence, which no longer
	// names it; a second delete is 404; another user's task is 404.
	if r := call(t, "DELETE", path, testkit.Token(t, "someone-else"), nil); r.status != http.StatusForbidden {
		t.Fatalf("another user's delete: %d", r.status)
	}
	if r := call(t, "DELETE", path, tok, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", path, tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("second delete: %d", r.status)
	}
	if n := count(t, `SELECT count(*) FROM tasks WHERE user_id = $1 AND parent_task_id IS NULL`, user); n != 1 {
		t.Fatalf("%d tasks of the user without a parent, want the occurrence alone", n)
	}
	if n := count(t, `SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = 'com.todo.task.deleted'`, id); n != 1 {
		t.Fatalf("%d deleted events", n)
	}
}
