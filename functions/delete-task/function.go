// Package function is the delete-task function:
// DELETE /api/{user_id}/tasks/{id} deletes a task and queues
// com.todo.task.deleted in the same transaction. Its next occurrence, if
// any, stays and no longer names it; deleting the pending occurrence of a
// series ends the series.
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
const Name = "delete-task"

// Tasks deletes a user's task with the event announcing it, in one
// transaction; another user's task is not found.
type Tasks interface {
	DeleteTask(ctx context.Context, userID, id string, announced func(task.Task) (cloudevents.Event, error)) error
}

// DeleteTask serves delete-task.
type DeleteTask struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *DeleteTask {
	return &DeleteTask{app.NewLifecycle(Name, config.Requirements{Auth: true, Relay: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, WriteKit: rt.WriteKit()}.Routes()
	})}
}

// Handler deletes tasks.
type Handler struct {
	Tasks Tasks
	app.WriteKit
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodDelete, Pattern: "/api/{user_id}/tasks/{id}", Handler: h.delete}}
}

func (h Handler) delete(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	ifMatch := r.Header.Get("If-Match")
	now := h.Now()
	err = h.Tasks.DeleteTask(r.Context(), user, id, func(t task.Task) (cloudevents.Event, error) {
		if err := t.CheckVersion(ifMatch); err != nil {
			return cloudevents.Event{}, err
		}
		return events.ForTask(events.TypeTaskDeleted, Name, t, now)
	})
	if err != nil {
		return err
	}
	h.Commit()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
