// Package function is the update-task function: PUT (full) and PATCH
// (partial) /api/{user_id}/tasks/{id} edit a task and queue
// com.todo.task.updated, or com.todo.task.completed when the edit completes
// it (then recur-task creates its next occurrence), in the same
// transaction. Optimistic concurrency: answers carry an ETag; a stale
// If-Match gets 412.
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
const Name = "update-task"

// Tasks changes a task under a lock: mutate edits it and returns the event
// announcing the change (nil: nothing changed, nothing is written). Another
// user's task is not found.
type Tasks interface {
	UpdateTask(ctx context.Context, userID, id string, mutate func(*task.Task) (*cloudevents.Event, error)) (task.Task, error)
}

// UpdateTask serves update-task.
type UpdateTask struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *UpdateTask {
	return &UpdateTask{app.NewLifecycle(Name, config.Requirements{Auth: true, Relay: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, WriteKit: rt.WriteKit()}.Routes()
	})}
}

// Handler edits tasks.
type Handler struct {
	Tasks Tasks
	app.WriteKit
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodPut, Pattern: "/api/{user_id}/tasks/{id}", Handler: h.edit(true)},
		{Method: http.MethodPatch, Pattern: "/api/{user_id}/tasks/{id}", Handler: h.edit(false)},
	}
}

func (h Handler) edit(full bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		user, id, err := h.Guard.Task(r)
		if err != nil {
			return err
		}
		var d task.Draft
		if _, err := httpx.DecodeJSON(r, &d, false); err != nil {
			return err
		}
		ifMatch := r.Header.Get("If-Match")
		now := h.Now()
		t, err := h.Tasks.UpdateTask(r.Context(), user, id, func(t *task.Task) (*cloudevents.Event, error) {
			if err := t.CheckVersion(ifMatch); err != nil {
				return nil, err
			}
			next, change, err := d.Apply(*t, now, full)
			if err != nil || change == task.Unchanged {
				return nil, err
			}
			*t = next
			kind := events.TypeTaskUpdated
			if change == task.Completed {
				kind = events.TypeTaskCompleted
			}
			evt, err := events.ForTask(kind, Name, next, now)
			return &evt, err
		})
		if err != nil {
			return err
		}
		h.Stored(w, http.StatusOK, t)
		return nil
	}
}
