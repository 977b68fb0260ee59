package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/task"
)

// ErrNotForUs marks a well-formed task event of another type, which a
// consumer of task.completed skips.
var ErrNotForUs = errors.New("event type not handled here")

// ErrPoison marks an event that can never be processed; it is dead-lettered
// rather than retried.
var ErrPoison = errors.New("poison event")

// Completed is a decoded, validated task.completed event.
type Completed struct {
	EventID string
	Data    TaskData
}

// DecodeCompleted validates e as a task.completed event. Every failure wraps
// ErrPoison with a reason naming what is wrong.
func DecodeCompleted(e cloudevents.Event) (Completed, error) {
	if err := e.Validate(); err != nil {
		return Completed{}, fmt.Errorf("%w: invalid CloudEvent: %v", ErrPoison, err)
	}
	if _, known := kindOf[e.Type()]; known && e.Type() != TypeTaskCompleted {
		return Completed{}, ErrNotForUs
	}
	if e.Type() != TypeTaskCompleted {
		return Completed{}, fmt.Errorf("%w: unexpected type %q", ErrPoison, e.Type())
	}
	if ct := e.DataContentType(); ct != "" && ct != cloudevents.ApplicationJSON && ct != "text/json" {
		return Completed{}, fmt.Errorf("%w: unsupported datacontenttype %q", ErrPoison, ct)
	}
	var d TaskData
	dec := json.NewDecoder(bytes.NewReader(e.Data()))
	if err := dec.Decode(&d); err != nil {
		return Completed{}, fmt.Errorf("%w: data is not a task payload: %v", ErrPoison, err)
	}
	if err := validateCompleted(d); err != nil {
		return Completed{}, fmt.Errorf("%w: %v", ErrPoison, err)
	}
	return Completed{EventID: e.ID(), Data: d}, nil
}

func validateCompleted(d TaskData) error {
	switch {
	case !task.IsUUID(d.TaskID):
		return errors.New("data.task_id must be a UUID")
	case d.UserID == "":
		return errors.New("data.user_id is required")
	case d.CompletedAt == nil || d.CompletedAt.IsZero():
		return errors.New("data.completed_at is required")
	case d.CompletedAt.After(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)):
		return errors.New("data.completed_at is out of range")
	}
	return nil
}
