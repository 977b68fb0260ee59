// Package function is the create-task function: POST /api/{user_id}/tasks
// validates a task, stores it and queues com.todo.task.created in the same
// transaction.
package function

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

// Name is the function's name, also its events' source.
const Name = "create-task"

// Tasks stores a new task together with the event announcing it, in one
// transaction; a parent task must be the same user's and have no next
// occurrence yet. CreateTaskOnce does it at most once per idempotency key.
type Tasks interface {
	CreateTask(ctx context.Context, t task.Task, evt cloudevents.Event) error
	CreateTaskOnce(ctx context.Context, t task.Task, evt cloudevents.Event, once contract.Once) (task.Task, bool, error)
}

// CreateTask serves create-task.
type CreateTask struct{ app.Lifecycle }

// New returns an unstarted function (Start connects it).
func New() *CreateTask {
	return &CreateTask{app.NewLifecycle(Name, config.Requirements{Auth: true, Relay: true}, func(rt *app.Runtime) []httpx.Route {
		return Handler{Tasks: rt.Store, WriteKit: rt.WriteKit()}.Routes()
	})}
}

// Handler creates tasks.
type Handler struct {
	Tasks Tasks
	app.WriteKit
}

// Routes are the function's API.
func (h Handler) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodPost, Pattern: "/api/{user_id}/tasks", Handler: h.create}}
}

func (h Handler) create(w http.ResponseWriter, r *http.Request) error {
	user, err := h.Guard.User(r)
	if err != nil {
		return err
	}
	var draft task.Draft
	if _, err := httpx.DecodeJSON(r, &draft, false); err != nil {
		return err
	}
	once, err := idempotency(r, draft)
	if err != nil {
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
	if once == nil {
		err = h.Tasks.CreateTask(r.Context(), t, evt)
	} else {
		var replayed bool
		if t, replayed, err = h.Tasks.CreateTaskOnce(r.Context(), t, evt, *once); replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.EscapedPath()+"/"+t.ID)
	h.Stored(w, http.StatusCreated, t)
	return nil
}

// idempotency reads the Idempotency-Key header: none, or a key of 1–255
// visible ASCII characters with the digest of the decoded body, so the
// same task sent with other spacing or key order is the same request.
func idempotency(r *http.Request, draft task.Draft) (*contract.Once, error) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return nil, nil
	}
	key := strings.TrimSpace(values[0])
	if len(values) > 1 || key == "" || len(key) > 255 ||
		strings.IndexFunc(key, func(c rune) bool { return c < '!' || c > '~' }) >= 0 {
		return nil, apperr.Field("Idempotency-Key", "must be one header of 1 to 255 visible ASCII characters")
	}
	body, err := json.Marshal(draft)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return &contract.Once{Key: key, Digest: hex.EncodeToString(sum[:])}, nil
}
