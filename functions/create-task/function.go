// Package function is the create-task function: POST /api/{user_id}/tasks
// validates a task, stores it and queues com.todo.task.created in the same
// transaction.
package function

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name, also its events' source.
const Name = "create-task"

// Tasks stores a new task together with the event announcing it, in one
// transaction; a parent task must be the same user's and have no next
// occurrence yet.
type Tasks interface {
	CreateTask(ctx context.Context, t task.Task, evt cloudevents.Event) error
}

// Function serves create-task.
type Function struct{ app.Function }

// New returns an unstarted function (Start connects it).
func New() *Function {
	return &Function{app.NewFunction(Name, config.Needs{Auth: true, Relay: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, Writes: rt.Writes()}.Routes()
	})}
}

// Handler creates tasks.
type Handler struct {
	Tasks Tasks
	app.Writes
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodPost, Pattern: "/api/{user_id}/tasks", Handler: h.create}}
}

func (h Handler) create(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.Writer(w, r)
	if err != nil {
		return err
	}
	var draft task.Draft
	if _, err := httpx.DecodeJSON(r, &draft, false); err != nil {
		return err
	}
	now := h.Now()
	t, err := draft.Build(uuid.NewString(), user, now)
	if err != nil {
		return err
	}
	evt, err := events.ForTask(events.TypeTaskCreated, Name, t, now)
	if err != nil {
		return err
	}
	if err := h.Tasks.CreateTask(r.Context(), t, evt); err != nil {
		return err
	}
	h.Commit()
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}
