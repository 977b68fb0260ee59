// Package function is the read-tasks function: GET /api/{user_id}/tasks
// lists the user's tasks (filtered, sorted, paged), GET
// /api/{user_id}/tasks/{id} returns one, …/{id}/chain its series, GET
// /api/{user_id}/tasks/stats counts them, and GET /api/{user_id}/tags
// lists the user's tags with their counts.
package function

import (
	"context"
	"net/http"
	"time"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/openapi"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name.
const Name = "read-tasks"

// Tasks reads a user's tasks; another user's task is not found.
type Tasks interface {
	GetTask(ctx context.Context, userID, id string) (task.Task, error)
	ListTasks(ctx context.Context, userID string, q contract.ListQuery) ([]task.Task, int, error)
	Chain(ctx context.Context, userID, id string, q contract.ChainQuery) (contract.ChainPage, error)
	Tags(ctx context.Context, userID string, q contract.TagQuery) ([]contract.TagCount, error)
	Stats(ctx context.Context, userID string, c contract.Calendar) (contract.Stats, error)
}

// ReadTasks serves read-tasks.
type ReadTasks struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it). It only reads, so
// it runs no outbox relay.
func New() *ReadTasks {
	return &ReadTasks{app.NewLifecycle(Name, config.Requirements{Auth: true}, func(rt *app.Runtime) []httpx.Route {
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
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/stats", Handler: h.stats},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tags", Handler: h.tags},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks/{id}/occurrences", Handler: h.occurrences},
		{Method: http.MethodPost, Pattern: "/api/{user_id}/recurrence/preview", Handler: h.preview},
		openapi.Route(), // the contract of the whole API, from the function that reads
	}
}
