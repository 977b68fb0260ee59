// Package function is the skip-task function:
// POST /api/{user_id}/tasks/{id}/skip closes an open occurrence of a
// recurring task as skipped (not done, no completed_at) and queues
// com.todo.task.skipped in the same transaction; recur-task then makes the
// next occurrence, as after a completion, with the same exactly-once rules.
// A stale If-Match gets 412, as on every route that changes a task.
package function

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name, also its events' source.
const Name = "skip-task"

// Tasks changes a task under a lock: mutate edits it and returns the event
// announcing the change; the task and the event are stored in one
// transaction, and an error from mutate writes nothing. Another user's
// task is not found.
type Tasks interface {
	UpdateTask(ctx context.Context, userID, id string, mutate func(*task.Task) (*cloudevents.Event, error)) (task.Task, error)
}

// SkipTask serves skip-task.
type SkipTask struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *SkipTask {
	return &SkipTask{app.NewLifecycle(Name, config.Requirements{Auth: true, Relay: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, WriteKit: rt.WriteKit()}.Routes()
	})}
}

// Handler skips occurrences.
type Handler struct {
	Tasks Tasks
	app.WriteKit
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodPost, Pattern: "/api/{user_id}/tasks/{id}/skip", Handler: h.skip}}
}

// skip closes the task as skipped. A task that does not repeat has nothing
// to skip to (400); one already done or skipped cannot be skipped (409);
// neither writes anything. The body, if any, must be an empty object.
func (h Handler) skip(w http.ResponseWriter, r *http.Request) error {
	user, id, err := h.Guard.Task(r)
	if err != nil {
		return err
	}
	var none struct{}
	if _, err := httpx.DecodeJSON(r, &none, true); err != nil {
		return err
	}
	ifMatch := r.Header.Get("If-Match")
	now := h.Now()
	t, err := h.Tasks.UpdateTask(r.Context(), user, id, func(t *task.Task) (*cloudevents.Event, error) {
		if err := t.CheckVersion(ifMatch); err != nil {
			return nil, err
		}
		if !t.Recurs() {
			return nil, apperr.New(apperr.Invalid, "task %s does not repeat: there is no next occurrence to skip to (delete it, or complete it)", t.ID)
		}
		if !t.Skip(now) {
			return nil, apperr.New(apperr.Conflict, "task %s is already %s: only an open occurrence can be skipped", t.ID, t.Status)
		}
		evt, err := events.ForTask(events.TypeTaskSkipped, Name, *t, now)
		return &evt, err
	})
	if err != nil {
		return err
	}
	h.Stored(w, http.StatusOK, t)
	return nil
}
