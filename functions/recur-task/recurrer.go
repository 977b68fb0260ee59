package function

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/tracing"
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
	// Tracer records the handling of each event, in the event's trace, and
	// each transaction (nil: nothing is traced).
	Tracer trace.Tracer
}

func (r *Recurrer) tracer() trace.Tracer {
	if r.Tracer == nil {
		return noop.Tracer{}
	}
	return r.Tracer
}

// Process handles one event. Errors wrapping events.ErrPoison are permanent
// (dead-letter it); others are transient (redeliver later).
func (r *Recurrer) Process(ctx context.Context, e cloudevents.Event) (outcome contract.Outcome, err error) {
	ctx, span := tracing.StartProcess(ctx, r.tracer(), e, events.TopicOf(e))
	defer func() {
		tracing.Fail(span, err)
		span.End()
	}()
	log := tracing.Log(ctx, r.Log.With().Str("event_id", e.ID()).Str("type", e.Type()).Logger())
	c, err := events.DecodeCompleted(e)
	if errors.Is(err, events.ErrNotForUs) {
		log.Debug().Msg("event skipped")
		return "skipped", nil
	}
	if err != nil {
		log.Warn().Err(err).Msg("poison event")
		return "", err
	}
	return r.recordNext(ctx, log, c.EventID, c.Data.UserID, c.Data.TaskID, c.ClosedAt)
}

// recordNext creates the next occurrence of task taskID of userID, completed (or
// skipped) at completedAt, once for event eventID. The stored task decides: an event it
// does not confirm is stale, changes nothing and is not an error.
func (r *Recurrer) recordNext(ctx context.Context, log zerolog.Logger, eventID, userID, taskID string, completedAt time.Time) (contract.Outcome, error) {
	start := time.Now()
	ctx, span := r.tracer().Start(ctx, "record next occurrence")
	outcome, child, err := r.Occurrences.RecordOccurrence(ctx, Name, eventID, userID, taskID, r.next(completedAt))
	defer span.End()
	if err != nil && !errors.Is(err, contract.ErrStale) {
		tracing.Fail(span, err)
		log.Warn().Err(err).Msg("event not processed")
		return "", err
	}
	r.handled(log, taskID, outcome, child, err, start)
	if child != nil && r.Committed != nil {
		r.Committed()
	}
	return outcome, nil
}

// recordNextAll handles completion events in one batch, with the effect recordNext
// would have on each in turn; traces[i] is the context of cs[i]'s handling.
// An error means none of them was handled.
func (r *Recurrer) recordNextAll(ctx context.Context, cs []events.Completed, traces []context.Context) error {
	start := time.Now()
	batch := make([]contract.CompletionEvent, len(cs))
	for i, c := range cs {
		batch[i] = contract.CompletionEvent{EventID: c.EventID, UserID: c.Data.UserID, ParentID: c.Data.TaskID,
			Next: r.next(c.ClosedAt), Trace: traces[i]}
	}
	// One transaction for events of many traces: its span is linked to
	// each event's handling (the child of the one when there is one).
	_, span := tracing.StartBatch(r.tracer(), "record next occurrences", traces)
	handled, err := r.Occurrences.RecordOccurrences(ctx, Name, batch)
	tracing.Fail(span, err)
	span.End()
	if err != nil {
		return err
	}
	created := false
	for i, h := range handled {
		log := tracing.Log(traces[i], r.Log.With().Str("event_id", cs[i].EventID).Str("type", events.TypeTaskCompleted).Logger())
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

// Consume handles one Kafka record: nil once its effects are committed or
// it was dead-lettered (through the outbox, like pushed poison), an error
// (retried by the consumer) otherwise.
func (r *Recurrer) Consume(ctx context.Context, msg kafka.Record) error {
	e, err := kafka.DecodeRecord(ctx, msg)
	if err != nil {
		return r.deadLetterRecord(ctx, msg, fmt.Sprintf("not a CloudEvent: %v", err))
	}
	_, err = r.Process(ctx, *e)
	if poison(err) {
		return r.deadLetterRecord(ctx, msg, err.Error())
	}
	return err
}

// poison says whether err is permanent for the event, so it is
// dead-lettered instead of retried: anything but the database or broker
// being unavailable. A malformed event, an occurrence the schema refuses, a
// task our encoder cannot encode: each would fail the same way forever and
// block its partition. (The reconciler still finds the completion later, so
// a dead-lettered completion is re-driven once its cause is fixed.)
func poison(err error) bool {
	return err != nil && apperr.CodeOf(err) != apperr.Unavailable
}

// ConsumeBatch handles records of one partition, in order: each run of
// completion events (with the records that are not for recur-task) in one
// transaction, each record that can never be handled dead-lettered. When a
// run's transaction fails, its records are handled one at a time, so one at
// fault is retried, or dead-lettered, alone. It returns how many records
// were handled, from the first.
func (r *Recurrer) ConsumeBatch(ctx context.Context, msgs []kafka.Record) (int, error) {
	for i := 0; i < len(msgs); {
		var (
			run    []events.Completed
			traces []context.Context // of each event's handling
			spans  []trace.Span
			reason string // why msgs[j] can never be handled
			j      = i
		)
		for ; j < len(msgs); j++ {
			var c *events.Completed
			var e *cloudevents.Event
			if c, e, reason = r.completion(ctx, msgs[j]); reason != "" {
				break
			}
			if c != nil {
				tc, span := tracing.StartProcess(ctx, r.tracer(), *e, msgs[j].Topic)
				run, traces, spans = append(run, *c), append(traces, tc), append(spans, span)
			}
		}
		if len(run) > 0 {
			err := r.recordNextAll(ctx, run, traces)
			for _, span := range spans {
				tracing.Fail(span, err)
				span.End()
			}
			if err != nil {
				r.Log.Warn().Err(err).Int("events", len(run)).Msg("batch not processed; handling its events one at a time")
				for k := i; k < j; k++ {
					if err := r.Consume(ctx, msgs[k]); err != nil {
						return k, err
					}
				}
			}
		}
		if i = j; i < len(msgs) {
			if err := r.deadLetterRecord(ctx, msgs[i], reason); err != nil {
				return i, err
			}
			i++
		}
	}
	return len(msgs), nil
}

// completion decodes a record: a completion event (and the event), nil
// for an event that is not for recur-task, or why the record can never be
// handled.
func (r *Recurrer) completion(ctx context.Context, msg kafka.Record) (*events.Completed, *cloudevents.Event, string) {
	e, err := kafka.DecodeRecord(ctx, msg)
	if err != nil {
		return nil, nil, fmt.Sprintf("not a CloudEvent: %v", err)
	}
	c, err := events.DecodeCompleted(*e)
	switch {
	case errors.Is(err, events.ErrNotForUs):
		return nil, nil, ""
	case err != nil:
		r.Log.Warn().Err(err).Str("event_id", e.ID()).Msg("poison event")
		return nil, nil, err.Error()
	}
	return &c, e, ""
}

// deadLetterRecord dead-letters msg as received. A failure to do so is
// returned, so the record is retried, not lost.
func (r *Recurrer) deadLetterRecord(ctx context.Context, msg kafka.Record, reason string) error {
	in := events.DeadLetterData{Reason: reason, Origin: fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset),
		Headers: map[string]string{}, Raw: msg.Value}
	for _, h := range msg.Headers {
		in.Headers[string(h.Key)] = string(h.Value)
	}
	in.ContentType = in.Headers["content-type"]
	if err := r.DeadLetter(ctx, in, string(msg.Key)); err != nil {
		return fmt.Errorf("dead-letter record %s: %w", in.Origin, err)
	}
	return nil
}
