package function

import (
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/recurrence"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
)

// confirms checks that the stored task is done at completedAt, the time the
// event says; otherwise the event is stale (the task was reopened or
// completed again since) or forged.
func confirms(stored task.Task, completedAt time.Time) error {
	switch {
	case !stored.Completed():
		return fmt.Errorf("%w: task %s is not done", store.ErrStale, stored.ID)
	case !stored.CompletedAt.Equal(completedAt.Truncate(time.Microsecond)):
		return fmt.Errorf("%w: task %s was completed at %s, not %s", store.ErrStale, stored.ID,
			stored.CompletedAt.Format(time.RFC3339Nano), completedAt.Format(time.RFC3339Nano))
	}
	return nil
}

// nextOccurrence builds the task that follows parent, completed at
// completedAt, and its task.created event; nil when the series is over.
func nextOccurrence(parent task.Task, completedAt, now time.Time) (*task.Task, *cloudevents.Event, error) {
	if !parent.Recurs() {
		return nil, nil, nil
	}
	anchor := completedAt
	if parent.SeriesAnchor != nil {
		anchor = *parent.SeriesAnchor
	} else if parent.DueDate != nil {
		anchor = *parent.DueDate
	}
	rule := recurrence.Rule{Frequency: recurrence.Frequency(parent.RecurringType),
		Schedule: parent.RecurrenceBasis == task.BasisSchedule, Location: parent.Location(), Anchor: anchor}
	// The series ends at its end date, or where the stored times end: an
	// occurrence past task.Latest could not be stored or encoded.
	rule.End = task.Latest
	if parent.RecurringEndDate != nil && parent.RecurringEndDate.Before(rule.End) {
		rule.End = *parent.RecurringEndDate
	}
	var due time.Time
	if parent.DueDate != nil {
		due = *parent.DueDate
	}
	next, ok := recurrence.Next(rule, due, completedAt)
	if !ok {
		return nil, nil, nil
	}
	next = next.UTC()
	parentID := parent.ID
	child := task.Task{ID: uuid.NewString(), UserID: parent.UserID, Title: parent.Title,
		Description: parent.Description, Status: task.StatusPending, Priority: parent.Priority,
		Tags: parent.Tags, DueDate: &next, Timezone: parent.Timezone, RecurringType: parent.RecurringType,
		RecurrenceBasis: parent.RecurrenceBasis, RecurringEndDate: parent.RecurringEndDate,
		SeriesAnchor: &anchor, ParentTaskID: &parentID, CreatedAt: now, UpdatedAt: now}
	evt, err := events.ForTask(events.TypeTaskCreated, Name, child, now)
	if err != nil {
		return nil, nil, err
	}
	return &child, &evt, nil
}
