// Package function is the read-tasks function: GET /api/{user_id}/tasks
// lists the user's tasks newest first, GET /api/{user_id}/tasks/{id} returns
// one.
package function

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/store"
)

// Name is the function's name.
const Name = "read-tasks"

// List limits.
const (
	DefaultLimit = 500
	MaxLimit     = 1000
)

// Function serves read-tasks.
type Function struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *Function { return &Function{} }

// NewWith returns a function running on deps.
func NewWith(deps *app.Deps) *Function {
	f := &Function{}
	f.init(deps)
	return f
}

// Start connects the function using the environment env. It only reads, so
// it never runs an outbox relay.
func (f *Function) Start(ctx context.Context, env map[string]string) error {
	return f.Open(ctx, Name, withoutRelay(env), config.Needs{Auth: true}, f.init)
}

func withoutRelay(env map[string]string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out["OUTBOX_RELAY"] = "false"
	return out
}

func (f *Function) init(d *app.Deps) {
	f.Serve(d,
		app.Route{Method: "GET", Pattern: "/api/{user_id}/tasks", Handler: f.list},
		app.Route{Method: "GET", Pattern: "/api/{user_id}/tasks/{id}", Handler: f.get},
	)
}

// filters maps ?status= values to store filters. "pending" is what the
// frontend sends for open tasks, so it includes in_progress ones.
var filters = map[string]store.StatusFilter{
	"": store.FilterAll, "all": store.FilterAll,
	"pending": store.FilterOpen, "open": store.FilterOpen,
	"in_progress": store.FilterInProgress,
	"completed":   store.FilterDone, "done": store.FilterDone,
}

func (f *Function) list(w http.ResponseWriter, r *http.Request) error {
	user, err := f.Deps.User(r)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.New(apperr.Invalid, "malformed query string")
	}
	filter, ok := filters[q.Get("status")]
	if !ok {
		return apperr.Field("status", "must be one of all, pending, in_progress, completed, done")
	}
	limit := DefaultLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxLimit {
			return apperr.Field("limit", "must be a number from 1 to %d", MaxLimit)
		}
	}
	tasks, err := f.Deps.Store.ListTasks(r.Context(), user, filter, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, tasks)
	return nil
}

func (f *Function) get(w http.ResponseWriter, r *http.Request) error {
	user, err := f.Deps.User(r)
	if err != nil {
		return err
	}
	id, err := app.TaskID(r)
	if err != nil {
		return err
	}
	t, err := f.Deps.Store.GetTask(r.Context(), user, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}
