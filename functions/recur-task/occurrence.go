package function

import (
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/task"
)

// confirms checks that the stored task is done (or skipped) at closedAt,
// the time the event says; otherwise the event is stale (the task was
// reopened or closed again since) or forged.
func confirms(stored task.Task, closedAt time.Time) error {
	switch {
	case !stored.Closed():
		return fmt.Errorf("%w: task %s is not done or skipped", contract.ErrStale, stored.ID)
	case !stored.ClosedAt().Equal(closedAt.Truncate(time.Microsecond)):
		return fmt.Errorf("%w: task %s was closed at %s, not %s", contract.ErrStale, stored.ID,
			stored.ClosedAt().Format(time.RFC3339Nano), closedAt.Format(time.RFC3339Nano))
	}
	return nil
}

// nextOccurrence builds the task that follows parent, completed (or
// skipped) at completedAt, and its task.created event; nil when the series
// is over.
func nextOccurrence(parent task.Task, completedAt, now time.Time) (*task.Task, *cloudevents.Event, error) {
	if !parent.Recurs() {
		return nil, nil, nil
	}
	rule, err := parent.Rule()
	if err != nil {
		return nil, nil, err
	}
	if rule.Anchor.IsZero() { // a series without due dates counts from its first completion
		rule.Anchor = completedAt
	}
	anchor := rule.Anchor
	var due time.Time
	if parent.DueDate != nil {
		due = *parent.DueDate
	}
	n := 0
	if parent.Occurrence != nil {
		n = *parent.Occurrence
	}
	next, ok := rule.After(due, n, completedAt)
	if !ok {
		return nil, nil, nil
	}
	at := next.At.UTC()
	parentID := parent.ID
	child := task.Task{ID: uuid.NewString(), UserID: parent.UserID, Title: parent.Title,
		Description: parent.Description, Status: task.StatusPending, Priority: parent.Priority,
		Tags: parent.Tags, DueDate: &at, Timezone: parent.Timezone, RecurringType: parent.RecurringType,
		RecurrenceRule: parent.RecurrenceRule, RecurrenceBasis: parent.RecurrenceBasis,
		RecurringEndDate: parent.RecurringEndDate, SeriesAnchor: &anchor, ParentTaskID: &parentID,
		CreatedAt: now, UpdatedAt: now}
	if next.N > 0 {
		child.Occurrence = &next.N
	}
	if err := parent.CarryReminders(&child, now); err != nil {
		return nil, nil, err
	}
	evt, err := events.ForTask(events.TypeTaskCreated, Name, child, now)
	if err != nil {
		return nil, nil, err
	}
	return &child, &evt, nil
}
