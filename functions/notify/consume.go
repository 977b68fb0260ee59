package function

import (
	"context"
	"encoding/json"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/tracing"
	"github.com/todoevents/todo/shared/webhook"
)

// Queue is what the consumer needs of the database.
type Queue interface {
	EnqueueDeliveries(ctx context.Context, evts []webhook.Event, now time.Time) (int64, error)
}

// Enqueuer turns the events of task-events and reminders into deliveries
// for the webhooks that want them, in one statement per batch of records.
// What is not a task event or reminder is skipped: nothing to deliver.
type Enqueuer struct {
	Queue Queue
	Log   zerolog.Logger
	Now   func() time.Time
	// Queued is called after deliveries were added (the sender's wake-up).
	Queued func()
	// Tracer records the handling of each traced event and the batch
	// that queues their deliveries, linked to them (nil: nothing is
	// traced).
	Tracer trace.Tracer
}

// Consume is the consumers' handler (kafka.Handler). An unreachable
// database is retried; a batch the database refuses for good is queued one
// event at a time and the one it refuses is skipped and logged, so one
// event never holds up a partition.
func (q *Enqueuer) Consume(ctx context.Context, records []kafka.Record) (int, error) {
	evts := make([]webhook.Event, 0, len(records))
	var traces []context.Context
	for _, r := range records {
		e, err := kafka.DecodeRecord(ctx, r)
		if err != nil {
			continue
		}
		if ev, ok := deliverable(*e); ok {
			evts = append(evts, ev)
			if q.Tracer != nil && tracing.Traced(*e) {
				tc, span := tracing.StartProcess(ctx, q.Tracer, *e, r.Topic)
				traces = append(traces, tc)
				defer span.End()
			}
		}
	}
	if len(traces) > 0 {
		_, span := tracing.StartBatch(q.Tracer, "queue webhook deliveries", traces)
		defer span.End()
	}
	n, err := q.Queue.EnqueueDeliveries(ctx, evts, q.Now())
	if err != nil && apperr.CodeOf(err) != apperr.Unavailable {
		n, err = 0, nil
		for _, ev := range evts {
			one, oneErr := q.Queue.EnqueueDeliveries(ctx, []webhook.Event{ev}, q.Now())
			if oneErr != nil && apperr.CodeOf(oneErr) == apperr.Unavailable {
				err = oneErr
				break
			}
			if oneErr != nil {
				q.Log.Warn().Err(oneErr).Str("event_id", ev.ID).Msg("event refused by the database; not delivered to webhooks")
			}
			n += one
		}
	}
	if n > 0 && q.Queued != nil {
		q.Queued()
	}
	if err != nil {
		return 0, err
	}
	return len(records), nil
}

// deliverable is the delivery of e, when e is an event a webhook can want:
// a task event or reminder whose data names the user its partition key
// names.
func deliverable(e cloudevents.Event) (webhook.Event, bool) {
	name, ok := webhook.EventName(e.Type())
	if !ok || !json.Valid(e.Data()) {
		return webhook.Event{}, false
	}
	var data struct {
		UserID string `json:"user_id"`
	}
	key, _ := e.Extensions()[events.ExtPartitionKey].(string)
	if json.Unmarshal(e.Data(), &data) != nil || data.UserID == "" || data.UserID != key || e.ID() == "" {
		return webhook.Event{}, false
	}
	payload, err := webhook.Payload(name, e.Time(), e.Data())
	if err != nil {
		return webhook.Event{}, false
	}
	return webhook.Event{ID: e.ID(), UserID: data.UserID, Type: name, Time: e.Time(), Payload: payload}, true
}
