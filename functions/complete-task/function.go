// Package function is the complete-task function:
// PATCH /api/{user_id}/tasks/{id}/complete toggles completion (no body) or
// sets it ({"completed": bool}). Completing emits com.todo.task.completed,
// reopening com.todo.task.updated; a request that changes nothing emits
// nothing.
package function

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name, also its events' source.
const Name = "complete-task"

// Function serves complete-task.
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
	f.Serve(d, app.Route{Method: "PATCH", Pattern: "/api/{user_id}/tasks/{id}/complete", Handler: f.complete})
}

// request is the optional body.
type request struct {
	Completed *bool `json:"completed"`
}

func (f *Function) complete(w http.ResponseWriter, r *http.Request) error {
	d := f.Deps
	user, err := d.Writer(w, r)
	if err != nil {
		return err
	}
	id, err := app.TaskID(r)
	if err != nil {
		return err
	}
	var req request
	if _, err := httpx.DecodeJSON(r, &req, true); err != nil {
		return err
	}
	now := d.Now()
	t, err := d.Store.UpdateTask(r.Context(), user, id, func(t *task.Task) (*cloudevents.Event, error) {
		want := !t.Completed()
		if req.Completed != nil {
			want = *req.Completed
		}
		if !t.SetCompleted(want, now) {
			return nil, nil
		}
		kind := events.TypeTaskUpdated
		if want {
			kind = events.TypeTaskCompleted
		}
		evt, err := events.ForTask(kind, Name, *t, now)
		return &evt, err
	})
	if err != nil {
		return err
	}
	d.WakeRelay()
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}
