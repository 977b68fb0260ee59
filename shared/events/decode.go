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

// Completed is a decoded, validated task.completed or task.skipped event:
// the occurrence was closed (completed, or skipped) at ClosedAt.
type Completed struct {
	EventID  string
	Data     TaskData
	ClosedAt time.Time
}

// closing are the event types that close an occurrence of a series.
var closing = map[string]bool{TypeTaskCompleted: true, TypeTaskSkipped: true}

// DecodeCompleted validates e as a task.completed or task.skipped event.
// Every failure wraps ErrPoison with a reason naming what is wrong.
func DecodeCompleted(e cloudevents.Event) (Completed, error) {
	if err := e.Validate(); err != nil {
		return Completed{}, fmt.Errorf("%w: invalid CloudEvent: %v", ErrPoison, err)
	}
	if _, known := kindOf[e.Type()]; known && !closing[e.Type()] {
		return Completed{}, ErrNotForUs
	}
	if !closing[e.Type()] {
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
	at, field := d.CompletedAt, "completed_at"
	if e.Type() == TypeTaskSkipped {
		at, field = d.SkippedAt, "skipped_at"
	}
	if err := validateClosing(d, at, field); err != nil {
		return Completed{}, fmt.Errorf("%w: %v", ErrPoison, err)
	}
	return Completed{EventID: e.ID(), Data: d, ClosedAt: *at}, nil
}

func validateClosing(d TaskData, at *time.Time, field string) error {
	switch {
	case !task.IsUUID(d.TaskID):
		return errors.New("data.task_id must be a UUID")
	case d.UserID == "":
		return errors.New("data.user_id is required")
	case at == nil || at.IsZero():
		return fmt.Errorf("data.%s is required", field)
	case at.After(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)):
		return fmt.Errorf("data.%s is out of range", field)
	}
	return nil
}
