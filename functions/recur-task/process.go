package function

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/recurrence"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
)

// process handles one decoded event. Errors wrapping events.ErrPoison are
// permanent (dead-letter it); others are transient (redeliver later).
func (f *Function) process(ctx context.Context, e cloudevents.Event) (store.Outcome, error) {
	log := f.Deps.Log.With().Str("event_id", e.ID()).Str("type", e.Type()).Logger()
	c, err := events.DecodeCompleted(e)
	if errors.Is(err, events.ErrNotForUs) {
		log.Debug().Msg("event skipped")
		return "skipped", nil
	}
	if err != nil {
		log.Warn().Err(err).Msg("poison event")
		return "", err
	}
	return f.occur(ctx, log, c.EventID, c.Data.UserID, c.Data.TaskID, *c.Data.CompletedAt)
}

// occur creates the next occurrence of task taskID of userID, completed at
// completedAt, once for event eventID. The stored task decides: an event it
// does not confirm is stale, changes nothing and is not an error. Delivered
// events and the reconciler both come through here.
func (f *Function) occur(ctx context.Context, log zerolog.Logger, eventID, userID, taskID string, completedAt time.Time) (store.Outcome, error) {
	now := f.Deps.Now()
	outcome, child, err := f.Deps.Store.RecordOccurrence(ctx, Name, eventID, userID, taskID,
		func(parent task.Task) (*task.Task, *cloudevents.Event, error) {
			if err := confirms(parent, completedAt); err != nil {
				return nil, nil, err
			}
			return nextOccurrence(parent, *parent.CompletedAt, now)
		})
	switch {
	case errors.Is(err, store.ErrStale):
		log.Warn().Err(err).Str("task_id", taskID).Msg("stale or forged completion ignored")
	case err != nil:
		log.Warn().Err(err).Msg("event not processed")
		return "", err
	}
	f.Deps.Metrics.Counter("todo_events_processed_total", "Events handled, by outcome.", "outcome", string(outcome)).Inc()
	ev := log.Info().Str("task_id", taskID).Str("outcome", string(outcome))
	if child != nil {
		ev = ev.Str("next_task_id", child.ID).Time("next_due", *child.DueDate)
		f.Deps.WakeRelay()
	}
	ev.Msg("event handled")
	return outcome, nil
}

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
	if parent.RecurringEndDate != nil {
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
