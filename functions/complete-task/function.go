// Package function is the complete-task function:
// PATCH /api/{user_id}/tasks/{id}/complete toggles a task's completion (or
// sets it from {"completed": bool}) and queues com.todo.task.completed or
// com.todo.task.updated in the same transaction. A stale If-Match gets 412,
// as on every route that changes a task.
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

// Tasks changes a task under a lock: mutate edits it and returns the event
// announcing the change (nil: nothing changed, nothing is written); the
// task and the event are stored in one transaction. Another user's task is
// not found.
type Tasks interface {
	UpdateTask(ctx context.Context, userID, id string, mutate func(*task.Task) (*cloudevents.Event, error)) (task.Task, error)
}

// CompleteTask serves complete-task.
type CompleteTask struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *CompleteTask {
	return &CompleteTask{app.NewLifecycle(Name, config.Requirements{Auth: true, Relay: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, WriteKit: rt.WriteKit()}.Routes()
	})}
}

// Handler completes and reopens tasks.
type Handler struct {
	Tasks Tasks
	app.WriteKit
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodPatch, Pattern: "/api/{user_id}/tasks/{id}/complete", Handler: h.complete}}
}

// request is the optional body.
type request struct {
	Completed *bool `json:"completed"`
}

func (h Handler) complete(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	var req request
	if _, err := httpx.DecodeJSON(r, &req, true); err != nil {
		return err
	}
	ifMatch := r.Header.Get("If-Match")
	now := h.Now()
	t, err := h.Tasks.UpdateTask(r.Context(), user, id, func(t *task.Task) (*cloudevents.Event, error) {
		if err := t.CheckVersion(ifMatch); err != nil {
			return nil, err
		}
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
	h.Stored(w, http.StatusOK, t)
	return nil
}
