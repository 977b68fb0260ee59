// Package function is the read-tasks function: GET /api/{user_id}/tasks
// lists the user's tasks newest first, GET /api/{user_id}/tasks/{id} returns
// one.
package function

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
	DefaultLimit = 500
	MaxLimit     = 1000
)

// Tasks reads a user's tasks; another user's task is not found.
type Tasks interface {
	GetTask(ctx context.Context, userID, id string) (task.Task, error)
	ListTasks(ctx context.Context, userID string, filter store.StatusFilter, limit int) ([]task.Task, error)
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
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks", Handler: h.list},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}", Handler: h.get},
	}
}

// queryParams are the list's parameters; any other is an error, never
// silently ignored.
var queryParams = map[string]bool{"status": true, "limit": true}

// filters maps ?status= values (any letter case) to store filters. "pending" is what the
// frontend sends for open tasks, so it includes in_progress ones.
var filters = map[string]store.StatusFilter{
	"": store.FilterAll, "all": store.FilterAll,
	"pending": store.FilterOpen, "open": store.FilterOpen,
	"in_progress": store.FilterInProgress,
	"completed":   store.FilterDone, "done": store.FilterDone,
}

func (h Handler) list(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.New(apperr.Invalid, "malformed query string")
	}
	for name := range q {
		if !queryParams[name] {
			return apperr.Field(name, "unknown query parameter (known: status, limit)")
		}
	}
	filter, ok := filters[strings.ToLower(strings.TrimSpace(q.Get("status")))]
	if !ok {
		return apperr.Field("status", "must be one of all, pending, in_progress, completed, done")
	}
	limit := DefaultLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxLimit {
			return apperr.Field("limit", "must be a number from 1 to %d", MaxLimit)
		}
	}
	tasks, err := h.Tasks.ListTasks(r.Context(), user, filter, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tasks)
	return nil
}

func (h Handler) get(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	id, err := httpx.TaskID(r)
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
