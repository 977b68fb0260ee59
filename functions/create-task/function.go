// Package function is the create-task function: POST /api/{user_id}/tasks
// validates a task, stores it and queues com.todo.task.created in the same
// transaction.
package function

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name, also its events' source.
const Name = "create-task"

// Function serves create-task.
type Function struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *Function { return &Function{} }

// NewWith returns a function running on deps.
func NewWith(deps *app.Deps) *Function {
	f := &Function{}
	f.init(deps)
	return f
}

// Start connects the function using the environment env.
func (f *Function) Start(ctx context.Context, env map[string]string) error {
	return f.Open(ctx, Name, env, config.Needs{Auth: true}, f.init)
}

func (f *Function) init(d *app.Deps) {
	f.Serve(d, app.Route{Method: "POST", Pattern: "/api/{user_id}/tasks", Handler: f.create})
}

func (f *Function) create(w http.ResponseWriter, r *http.Request) error {
	d := f.Deps
	user, err := d.Writer(w, r)
	if err != nil {
		return err
	}
	var draft task.Draft
	if _, err := httpx.DecodeJSON(r, &draft, false); err != nil {
		return err
	}
	now := d.Now()
	t, err := draft.Build(uuid.NewString(), user, now)
	if err != nil {
		return err
	}
	evt, err := events.ForTask(events.TypeTaskCreated, Name, t, now)
	if err != nil {
		return err
	}
	if err := d.Store.CreateTask(r.Context(), t, evt); err != nil {
		return err
	}
	d.WakeRelay()
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}
