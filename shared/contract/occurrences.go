package contract

import (
	"context"
	"errors"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/task"
)

// Outcome says what handling one completion event did.
type Outcome string

// Outcomes of RecordOccurrence.
const (
	OutcomeCreated   Outcome = "created"   // a next occurrence was inserted
	OutcomeDuplicate Outcome = "duplicate" // this event was handled before
	OutcomeExists    Outcome = "exists"    // the parent already has a next occurrence
	OutcomeNone      Outcome = "none"      // the task does not recur, or its series has ended
	OutcomeStale     Outcome = "stale"     // the stored task does not confirm the event; nothing changed
)

// Outcomes are every Outcome (a closed set: a metric label).
var Outcomes = []Outcome{OutcomeCreated, OutcomeDuplicate, OutcomeExists, OutcomeNone, OutcomeStale}

// ErrStale is wrapped by a NextFunc error saying the stored task does not
// confirm the completion event (not done, or done at another time). The
// transaction is rolled back and RecordOccurrence returns OutcomeStale with
// the error, whose text says why.
var ErrStale = errors.New("stale completion")

// NextFunc builds the next occurrence of parent, as stored and locked, and
// the event announcing it, or returns a nil task when the series has no
// further occurrence. An error wrapping ErrStale rejects the event.
type NextFunc func(parent task.Task) (*task.Task, *cloudevents.Event, error)

// CompletionEvent is one event of a batch: event EventID says task
// ParentID of UserID was completed; Next builds its next occurrence.
// Trace, when set, is the context of the event's handling: the
// occurrence's event is created under its span, in the completion's trace.
type CompletionEvent struct {
	EventID, UserID, ParentID string
	Next                      NextFunc
	Trace                     context.Context
}

// Handled is what RecordOccurrences did with one completion: its outcome,
// the occurrence it stored (OutcomeCreated), and for OutcomeStale the
// reason (wrapping ErrStale).
type Handled struct {
	Outcome Outcome
	Child   *task.Task
	Err     error
}

// Completion is a done (or skipped) recurring task whose next occurrence
// was never decided (no event about it was handled); CompletedAt is when
// it was closed.
type Completion struct {
	TaskID, UserID string
	CompletedAt    time.Time
}
