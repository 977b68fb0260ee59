// Package function is the read-tasks function: GET /api/{user_id}/tasks
// lists the user's tasks (filtered, sorted, paged), GET
// /api/{user_id}/tasks/{id} returns one, …/{id}/chain its series, and GET
// /api/{user_id}/tags the user's tags with their counts.
package function

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name.
const Name = "read-tasks"

// List limits.
const (
	DefaultLimit = 100
	MaxLimit     = 100
)

// Tasks reads a user's tasks; another user's task is not found.
type Tasks interface {
	GetTask(ctx context.Context, userID, id string) (task.Task, error)
	ListTasks(ctx context.Context, userID string, q store.ListQuery) ([]task.Task, int, error)
	Chain(ctx context.Context, userID, id string) ([]task.Task, error)
	Tags(ctx context.Context, userID string) ([]store.TagCount, error)
}

// Function serves read-tasks.
type Function struct{ app.Function }

// New returns an unstarted function (Start connects it). It only reads, so
// it runs no outbox relay.
func New() *Function {
	return &Function{app.NewFunction(Name, config.Needs{Auth: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, Guard: rt.Guard}.Routes()
	})}
}

// Handler reads tasks.
type Handler struct {
	Tasks Tasks
	Guard httpx.Guard
	// Now is the clock for "overdue"; nil means app.Now.
	Now func() time.Time
}

func (h Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return app.Now()
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks", Handler: h.list},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}", Handler: h.get},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}/chain", Handler: h.chain},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tags", Handler: h.tags},
	}
}

// filters maps ?status= values (any letter case) to store filters. "pending" is what the
// frontend sends for open tasks, so it includes in_progress ones.
var filters = map[string]store.StatusFilter{
	"": store.FilterAll, "all": store.FilterAll,
	"pending": store.FilterOpen, "open": store.FilterOpen,
	"in_progress": store.FilterInProgress,
	"completed":   store.FilterDone, "done": store.FilterDone,
	"overdue": store.FilterOverdue,
}

// sortKeys are the ?sort= / ?sort_by= values.
var sortKeys = map[string]string{
	"created_at": store.SortCreated, "created": store.SortCreated, "updated_at": store.SortUpdated,
	"due_date": store.SortDue, "due": store.SortDue, "priority": store.SortPriority, "title": store.SortTitle,
}

// listParams are the list's query parameters; any other is an error,
// never silently ignored.
var listParams = []string{"status", "priority", "tag", "tags", "q", "search", "due_before", "due_after", "overdue",
	"recurring", "parent_task_id", "sort", "sort_by", "order", "sort_order", "limit", "offset", "skip"}

// parseList reads the list's query string. Values are read in any letter
// case; tags repeat or are comma-separated (all must match).
func parseList(raw string, now time.Time) (store.ListQuery, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return store.ListQuery{}, apperr.New(apperr.Invalid, "malformed query string")
	}
	for name := range q {
		if !slices.Contains(listParams, name) {
			return store.ListQuery{}, apperr.Field(name, "unknown query parameter (known: %s)", strings.Join(listParams, ", "))
		}
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(q.Get(n)); v != "" {
				return v
			}
		}
		return ""
	}
	lq := store.ListQuery{Limit: DefaultLimit, Now: now, Search: get("q", "search"), Sort: store.SortCreated, Desc: true}
	var ok bool
	if lq.Status, ok = filters[strings.ToLower(get("status"))]; !ok {
		return lq, apperr.Field("status", "must be one of all, pending, in_progress, completed, done, overdue")
	}
	if p := strings.ToLower(get("priority")); p != "" {
		if lq.Priority = task.Priority(p); p != "low" && p != "medium" && p != "high" {
			return lq, apperr.Field("priority", "must be one of low, medium, high")
		}
	}
	for _, v := range append(q["tag"], q["tags"]...) {
		for _, tag := range strings.Split(v, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				lq.Tags = append(lq.Tags, tag)
			}
		}
	}
	for name, dst := range map[string]**time.Time{"due_before": &lq.DueBefore, "due_after": &lq.DueAfter} {
		if v := get(name); v != "" {
			at, err := task.ParseTime(v, time.UTC, false)
			if err != nil {
				return lq, apperr.Field(name, "%v", err)
			}
			*dst = &at
		}
	}
	for name, dst := range map[string]**bool{"overdue": &lq.Overdue, "recurring": &lq.Recurring} {
		if v := get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return lq, apperr.Field(name, "must be true or false")
			}
			*dst = &b
		}
	}
	if lq.ParentTaskID = strings.ToLower(get("parent_task_id")); lq.ParentTaskID != "" && !task.IsUUID(lq.ParentTaskID) {
		return lq, apperr.Field("parent_task_id", "must be a UUID")
	}
	if s := strings.ToLower(get("sort", "sort_by")); s != "" {
		desc := strings.HasPrefix(s, "-")
		if lq.Sort, ok = sortKeys[strings.TrimPrefix(s, "-")]; !ok {
			return lq, apperr.Field("sort", "must be one of created_at, updated_at, due_date, priority, title (- for descending)")
		}
		lq.Desc = desc
	}
	switch strings.ToLower(get("order", "sort_order")) {
	case "":
	case "asc":
		lq.Desc = false
	case "desc":
		lq.Desc = true
	default:
		return lq, apperr.Field("order", "must be asc or desc")
	}
	if s := get("limit"); s != "" {
		if lq.Limit, err = strconv.Atoi(s); err != nil || lq.Limit < 1 || lq.Limit > MaxLimit {
			return lq, apperr.Field("limit", "must be a number from 1 to %d", MaxLimit)
		}
	}
	if s := get("offset", "skip"); s != "" {
		if lq.Offset, err = strconv.Atoi(s); err != nil || lq.Offset < 0 || lq.Offset > 1_000_000 {
			return lq, apperr.Field("offset", "must be a number from 0 to 1000000")
		}
	}
	return lq, nil
}

func (h Handler) list(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	q, err := parseList(r.URL.RawQuery, h.now())
	if err != nil {
		return err
	}
	tasks, total, err := h.Tasks.ListTasks(r.Context(), user, q)
	if err != nil {
		return err
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	httpx.WriteJSON(w, http.StatusOK, tasks)
	return nil
}

func (h Handler) get(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	t, err := h.Tasks.GetTask(r.Context(), user, id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", t.ETag()) // for If-Match on PUT, PATCH and DELETE
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

// chain lists the series a task belongs to, oldest first.
func (h Handler) chain(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	tasks, err := h.Tasks.Chain(r.Context(), user, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tasks)
	return nil
}

// tags lists the user's tags with how many tasks carry each.
func (h Handler) tags(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	if r.URL.RawQuery != "" {
		return apperr.New(apperr.Invalid, "the tag list takes no query parameters")
	}
	tags, err := h.Tasks.Tags(r.Context(), user)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tags)
	return nil
}
