package function

import (
	"context"
	"errors"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/task"
)

// Occurrences records, once per event, the next occurrence of a completed
// task: in one transaction it marks the event processed, loads and locks
// the stored task (another user's, or none, is contract.ErrStale), asks next
// for the occurrence and its event, inserts both unless the task already
// has a next occurrence, and stamps the task as recurred.
// RecordOccurrences does the same for a batch of events in one transaction.
type Occurrences interface {
	RecordOccurrence(ctx context.Context, consumer, eventID, userID, taskID string, next contract.NextFunc) (contract.Outcome, *task.Task, error)
	RecordOccurrences(ctx context.Context, consumer string, batch []contract.CompletionEvent) ([]contract.Handled, error)
}

// DeadLetters queues an event (a dead letter) through the outbox.
type DeadLetters interface {
	Enqueue(ctx context.Context, evt cloudevents.Event) error
}

// Recurrer handles completion events, however they arrive (Kafka, pushed,
// or the reconciler), and dead-letters what can never be handled.
type Recurrer struct {
	Occurrences Occurrences
	DeadLetters DeadLetters
	Log         zerolog.Logger
	Metrics     *metrics.Metrics
	Now         func() time.Time
	// Committed is called after a new occurrence is stored (optional).
	Committed func()
}

// Process handles one event. Errors wrapping events.ErrPoison are permanent
// (dead-letter it); others are transient (redeliver later).
func (r *Recurrer) Process(ctx context.Context, e cloudevents.Event) (contract.Outcome, error) {
	log := r.Log.With().Str("event_id", e.ID()).Str("type", e.Type()).Logger()
	c, err := events.DecodeCompleted(e)
	if errors.Is(err, events.ErrNotForUs) {
		log.Debug().Msg("event skipped")
		return "skipped", nil
	}
	if err != nil {
		log.Warn().Err(err).Msg("poison event")
		return "", err
	}
	return r.occur(ctx, log, c.EventID, c.Data.UserID, c.Data.TaskID, c.ClosedAt)
}

// occur creates the next occurrence of task taskID of userID, completed (or
// skipped) at completedAt, once for event eventID. The stored task decides: an event it
// does not confirm is stale, changes nothing and is not an error.
func (r *Recurrer) occur(ctx context.Context, log zerolog.Logger, eventID, userID, taskID string, completedAt time.Time) (contract.Outcome, error) {
	start := time.Now()
	outcome, child, err := r.Occurrences.RecordOccurrence(ctx, Name, eventID, userID, taskID, r.next(completedAt))
	if err != nil && !errors.Is(err, contract.ErrStale) {
		log.Warn().Err(err).Msg("event not processed")
		return "", err
	}
	r.handled(log, taskID, outcome, child, err, start)
	if child != nil && r.Committed != nil {
		r.Committed()
	}
	return outcome, nil
}

// occurAll handles completion events in one batch, with the effect occur
// would have on each in turn. An error means none of them was handled.
func (r *Recurrer) occurAll(ctx context.Context, cs []events.Completed) error {
	start := time.Now()
	batch := make([]contract.CompletionEvent, len(cs))
	for i, c := range cs {
		batch[i] = contract.CompletionEvent{EventID: c.EventID, UserID: c.Data.UserID, ParentID: c.Data.TaskID,
			Next: r.next(c.ClosedAt)}
	}
	handled, err := r.Occurrences.RecordOccurrences(ctx, Name, batch)
	if err != nil {
		return err
	}
	created := false
	for i, h := range handled {
		log := r.Log.With().Str("event_id", cs[i].EventID).Str("type", events.TypeTaskCompleted).Logger()
		r.handled(log, batch[i].ParentID, h.Outcome, h.Child, h.Err, start)
		created = created || h.Child != nil
	}
	if created && r.Committed != nil {
		r.Committed()
	}
	return nil
}

// next builds the occurrence that follows a task the event says was
// completed (or skipped) at closedAt, if the stored task confirms it.
func (r *Recurrer) next(closedAt time.Time) contract.NextFunc {
	now := r.Now()
	return func(parent task.Task) (*task.Task, *cloudevents.Event, error) {
		if err := confirms(parent, closedAt); err != nil {
			return nil, nil, err
		}
		return nextOccurrence(parent, *parent.ClosedAt(), now)
	}
}

// handled logs and counts one handled event; stale says why it was stale.
func (r *Recurrer) handled(log zerolog.Logger, taskID string, outcome contract.Outcome, child *task.Task, stale error, start time.Time) {
	if stale != nil {
		log.Warn().Err(stale).Str("task_id", taskID).Msg("stale or forged completion ignored")
	}
	r.Metrics.EventsProcessed.WithLabelValues(string(outcome)).Inc()
	r.Metrics.EventDuration.WithLabelValues(string(outcome)).Observe(time.Since(start).Seconds())
	ev := log.Info().Str("task_id", taskID).Str("outcome", string(outcome))
	if child != nil {
		ev = ev.Str("next_task_id", child.ID).Time("next_due", *child.DueDate)
	}
	ev.Msg("event handled")
}

// DeadLetter queues, through the outbox, a dead letter wrapping raw (the
// input as received, with its headers) with the reason and where it came
// from, keyed by key. It is the one dead-letter path of recur-task.
func (r *Recurrer) DeadLetter(ctx context.Context, in events.DeadLetterData, key string) error {
	dl, err := events.DeadLetter(Name, key, in, r.Now())
	if err != nil {
		return err
	}
	if err := r.DeadLetters.Enqueue(ctx, dl); err != nil {
		return err
	}
	r.Metrics.DeadLettered.Inc()
	if r.Committed != nil {
		r.Committed()
	}
	r.Log.Warn().Str("dead_letter_id", dl.ID()).Str("origin", in.Origin).Str("reason", in.Reason).Msg("input dead-lettered")
	return nil
}
