package function

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store/storetest"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// fake is the handler on an in-memory store holding user's tasks, one per
// status given, created a second apart.
func fake(t *testing.T, user string, statuses ...task.Status) (http.Handler, []task.Task) {
	t.Helper()
	st := storetest.New()
	var out []task.Task
	for i, status := range statuses {
		title := string(status)
		tk, err := task.Draft{Title: &title, Status: &status}.Build(uuid.NewString(), user,
			time.Date(2026, 3, 1, 9, 0, i, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		e, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
		if err := st.CreateTask(context.Background(), tk, e); err != nil {
			t.Fatal(err)
		}
		out = append(out, tk)
	}
	h := Handler{Tasks: st, Guard: testkit.Guard()}
	return testkit.Serve(h.Routes()...), out
}

func TestHandlerListsAndReads(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, tasks := fake(t, user, task.StatusPending, task.StatusInProgress, task.StatusDone)
	tok := testkit.Token(t, user)
	for query, want := range map[string][]string{
		"":                         {"done", "in_progress", "pending"},
		"?status=pending":          {"in_progress", "pending"},
		"?status=completed":        {"done"},
		"?status=in_progress":      {"in_progress"},
		"?limit=1":                 {"done"},
		"?status=Completed":        {"done"},
		"?sort_by=title&order=asc": {"done", "in_progress", "pending"},
		"?sort=-title&skip=1":      {"in_progress", "done"},
		"?recurring=false&overdue=false&due_after=2000-01-01": {},
	} {
		rec := testkit.Do(t, h, "GET", "/api/"+user+"/tasks"+query, tok, nil)
		var list List
		testkit.Decode(t, rec, &list)
		if rec.Code != http.StatusOK || len(list.Tasks) != len(want) || rec.Header().Get("X-Total-Count") != strconv.Itoa(list.Total) {
			t.Fatalf("%q: %d, %d tasks (X-Total-Count %q, total %d), want %v", query, rec.Code, len(list.Tasks),
				rec.Header().Get("X-Total-Count"), list.Total, want)
		}
		for i, tk := range list.Tasks {
			if tk.Title != want[i] {
				t.Fatalf("%q: task %d is %q, want %v", query, i, tk.Title, want)
			}
		}
	}
	rec := testkit.Do(t, h, "GET", "/api/"+user+"/tasks/"+tasks[0].ID, tok, nil)
	var one task.Task
	testkit.Decode(t, rec, &one)
	if rec.Code != http.StatusOK || one.ID != tasks[0].ID {
		t.Fatalf("read one: %d %v", rec.Code, one)
	}
}

func TestHandlerRefusals(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, tasks := fake(t, user, task.StatusPending)
	tok := testkit.Token(t, user)
	for _, tc := range []struct {
		name, path, token string
		status            int
		field             string
	}{
		{"no token", "/api/" + user + "/tasks", "", 401, ""},
		{"another user's list", "/api/someone/tasks", tok, 403, ""},
		{"another user's task", "/api/x" + user + "/tasks/" + tasks[0].ID, testkit.Token(t, "x"+user), 404, ""},
		{"unknown status", "/api/" + user + "/tasks?status=archived", tok, 400, "status"},
		{"limit too large", "/api/" + user + "/tasks?limit=100000", tok, 400, "limit"},
		{"malformed query", "/api/" + user + "/tasks?%zz", tok, 400, ""},
		{"unknown parameter", "/api/" + user + "/tasks?color=red", tok, 400, "color"},
		{"unknown sort key", "/api/" + user + "/tasks?sort=colour", tok, 400, "sort"},
		{"bad order", "/api/" + user + "/tasks?sort_by=title&order=up", tok, 400, "order"},
		{"bad priority", "/api/" + user + "/tasks?priority=urgent", tok, 400, "priority"},
		{"negative offset", "/api/" + user + "/tasks?skip=-1", tok, 400, "offset"},
		{"bad due_before", "/api/" + user + "/tasks?due_before=soon", tok, 400, "due_before"},
		{"bad recurring", "/api/" + user + "/tasks?recurring=maybe", tok, 400, "recurring"},
		{"bad parent", "/api/" + user + "/tasks?parent_task_id=42", tok, 400, "parent_task_id"},
		{"garbage cursor", "/api/" + user + "/tasks?cursor=abc", tok, 400, "cursor"},
		{"cursor and offset", "/api/" + user + "/tasks?cursor=abc&offset=1", tok, 400, "cursor"},
		{"stats in no zone", "/api/" + user + "/tasks/stats?timezone=Mars/Olympus", tok, 400, "timezone"},
		{"stats with a filter", "/api/" + user + "/tasks/stats?status=done", tok, 400, "status"},
		{"another user's stats", "/api/someone/tasks/stats", tok, 403, ""},
	} {
		_, field := testkit.ErrorCode(t, testkit.Do(t, h, "GET", tc.path, tc.token, nil), tc.status)
		if field != tc.field {
			t.Fatalf("%s: field %q, want %q", tc.name, field, tc.field)
		}
	}
}

func TestHandlerChainAndTags(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, tasks := fake(t, user, task.StatusPending)
	tok := testkit.Token(t, user)
	rec := testkit.Do(t, h, "GET", "/api/"+user+"/tasks/"+tasks[0].ID+"/chain", tok, nil)
	var chain []task.Task
	testkit.Decode(t, rec, &chain)
	if rec.Code != http.StatusOK || len(chain) != 1 || chain[0].ID != tasks[0].ID {
		t.Fatalf("chain: %d %v", rec.Code, chain)
	}
	testkit.ErrorCode(t, testkit.Do(t, h, "GET", "/api/"+user+"/tasks/"+uuid.NewString()+"/chain", tok, nil), http.StatusNotFound)
	for q, field := range map[string]string{"?limit=0": "limit", "?limit=501": "limit", "?limit=x": "limit",
		"?cursor=x": "cursor", "?cursor=eyJwIjotMX0": "cursor", "?limit=2&limit=3": "limit", "?offset=1": "offset"} {
		rec := testkit.Do(t, h, "GET", "/api/"+user+"/tasks/"+tasks[0].ID+"/chain"+q, tok, nil)
		if _, f := testkit.ErrorCode(t, rec, http.StatusBadRequest); f != field {
			t.Fatalf("chain%s: the error names %q, want %q", q, f, field)
		}
	}
	rec = testkit.Do(t, h, "GET", "/api/"+user+"/tags", tok, nil)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Fatalf("tags: %d %s", rec.Code, rec.Body)
	}
	for _, q := range []string{"?limit=1&q=ho", "?q=" + strings.Repeat("x", 50)} {
		if rec := testkit.Do(t, h, "GET", "/api/"+user+"/tags"+q, tok, nil); rec.Code != http.StatusOK {
			t.Fatalf("tags%s: %d %s", q, rec.Code, rec.Body)
		}
	}
	for q, field := range map[string]string{"?limit=0": "limit", "?limit=101": "limit", "?limit=x": "limit",
		"?q=" + strings.Repeat("x", 51): "q", "?prefix=ho": "prefix"} {
		if _, f := testkit.ErrorCode(t, testkit.Do(t, h, "GET", "/api/"+user+"/tags"+q, tok, nil), http.StatusBadRequest); f != field {
			t.Fatalf("tags%s: the error names %q, want %q", q, f, field)
		}
	}
	testkit.ErrorCode(t, testkit.Do(t, h, "GET", "/api/someone/tags", tok, nil), http.StatusForbidden)
}

// TestHandlerCursorPages follows the Link header from the first page to
// the last and meets every task once, in order; a cursor only serves the
// filters and order it was made for.
func TestHandlerCursorPages(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, tasks := fake(t, user, task.StatusPending, task.StatusDone, task.StatusPending, task.StatusInProgress, task.StatusDone)
	tok := testkit.Token(t, user)
	var seen []string
	next := "/api/" + user + "/tasks?limit=2&sort=created_at"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than tasks")
		}
		rec := testkit.Do(t, h, "GET", next, tok, nil)
		var page List
		testkit.Decode(t, rec, &page)
		if rec.Code != http.StatusOK || rec.Header().Get("X-Total-Count") != "5" || page.Total != 5 ||
			(page.NextCursor == nil) != (rec.Header().Get("X-Next-Cursor") == "") ||
			(page.NextCursor != nil && *page.NextCursor != rec.Header().Get("X-Next-Cursor")) {
			t.Fatalf("%s: %d, total %q / %d, next %v", next, rec.Code, rec.Header().Get("X-Total-Count"), page.Total, page.NextCursor)
		}
		for _, tk := range page.Tasks {
			seen = append(seen, tk.ID)
		}
		link, cursor := rec.Header().Get("Link"), rec.Header().Get("X-Next-Cursor")
		next = ""
		if link != "" {
			target, rel, _ := strings.Cut(link, ">; ")
			next = strings.TrimPrefix(target, "<")
			if rel != `rel="next"` || !strings.Contains(next, "cursor="+cursor) || !strings.Contains(next, "limit=2") {
				t.Fatalf("Link %q with X-Next-Cursor %q", link, cursor)
			}
		}
	}
	var want []string
	for _, tk := range tasks {
		want = append(want, tk.ID)
	}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("pages gave %v, want %v", seen, want)
	}
	rec := testkit.Do(t, h, "GET", "/api/"+user+"/tasks?limit=2&sort=title", tok, nil)
	cursor := rec.Header().Get("X-Next-Cursor")
	if cursor == "" {
		t.Fatal("no cursor on a first page of 2 of 5")
	}
	_, field := testkit.ErrorCode(t, testkit.Do(t, h, "GET", "/api/"+user+"/tasks?limit=2&sort=-title&cursor="+cursor, tok, nil), 400)
	if field != "cursor" {
		t.Fatalf("a cursor in another order: field %q", field)
	}
}

func TestHandlerStats(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, _ := fake(t, user, task.StatusPending, task.StatusDone, task.StatusInProgress)
	tok := testkit.Token(t, user)
	rec := testkit.Do(t, h, "GET", "/api/"+user+"/tasks/stats?timezone=Europe/Paris", tok, nil)
	var st struct {
		Total    int            `json:"total"`
		ByStatus map[string]int `json:"by_status"`
		Timezone string         `json:"timezone"`
	}
	testkit.Decode(t, rec, &st)
	if rec.Code != http.StatusOK || st.Total != 3 || st.ByStatus["done"] != 1 || st.Timezone != "Europe/Paris" {
		t.Fatalf("stats: %d %s", rec.Code, rec.Body)
	}
	testkit.ErrorCode(t, testkit.Do(t, h, "DELETE", "/api/"+user+"/tasks/stats", tok, nil), http.StatusMethodNotAllowed)
}

// TestHandlerChainPages follows a series' Link headers from its first page
// to its last and meets every link once, oldest first.
func TestHandlerChainPages(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	st := storetest.New()
	var ids []string
	for i := range 5 {
		title, daily := "run "+strconv.Itoa(i), string(task.RecurDaily)
		tk, err := task.Draft{Title: &title, RecurringType: &daily}.Build(uuid.NewString(), user,
			time.Date(2026, 3, 1, 9, 0, i, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			tk.ParentTaskID = &ids[i-1]
		}
		e, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
		if err := st.CreateTask(context.Background(), tk, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	h := testkit.Serve(Handler{Tasks: st, Guard: testkit.Guard()}.Routes()...)
	tok := testkit.Token(t, user)
	var seen []string
	next := "/api/" + user + "/tasks/" + ids[3] + "/chain?limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than links")
		}
		rec := testkit.Do(t, h, "GET", next, tok, nil)
		var page []task.Task
		testkit.Decode(t, rec, &page)
		if rec.Code != http.StatusOK || len(page) == 0 || len(page) > 2 {
			t.Fatalf("%s: %d, %d links", next, rec.Code, len(page))
		}
		for _, tk := range page {
			seen = append(seen, tk.ID)
		}
		next = ""
		if link := rec.Header().Get("Link"); link != "" {
			target, _, _ := strings.Cut(link, ">; ")
			next = strings.TrimPrefix(target, "<")
			if !strings.Contains(next, "cursor="+rec.Header().Get("X-Next-Cursor")) || !strings.Contains(next, "limit=2") {
				t.Fatalf("Link %q", link)
			}
		}
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("pages gave %v, want %v", seen, ids)
	}
}
