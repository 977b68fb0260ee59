package function

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
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
	now := f.Deps.Now()
	outcome, child, err := f.Deps.Store.RecordOccurrence(ctx, Name, c.EventID, c.Data.UserID, c.Data.TaskID,
		func(parent task.Task) (*task.Task, *cloudevents.Event, error) {
			return nextOccurrence(parent, *c.Data.CompletedAt, now)
		})
	switch {
	case err == nil:
	case apperr.CodeOf(err) == apperr.NotFound:
		err = fmt.Errorf("%w: task %s of user %s does not exist", events.ErrPoison, c.Data.TaskID, c.Data.UserID)
		log.Warn().Err(err).Msg("poison event")
		return "", err
	default:
		log.Warn().Err(err).Msg("event not processed")
		return "", err
	}
	f.Deps.Metrics.Counter("todo_events_processed_total", "Events handled, by outcome.", "outcome", string(outcome)).Inc()
	ev := log.Info().Str("task_id", c.Data.TaskID).Str("outcome", string(outcome))
	if child != nil {
		ev = ev.Str("next_task_id", child.ID).Time("next_due", *child.DueDate)
		f.Deps.WakeRelay()
	}
	ev.Msg("event handled")
	return outcome, nil
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
