package function

import (
	"context"
	"errors"
	"fmt"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
)

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
			reason string // why msgs[j] can never be handled
			j      = i
		)
		for ; j < len(msgs); j++ {
			var c *events.Completed
			if c, reason = r.completion(ctx, msgs[j]); reason != "" {
				break
			}
			if c != nil {
				run = append(run, *c)
			}
		}
		if len(run) > 0 {
			if err := r.occurAll(ctx, run); err != nil {
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

// completion decodes a record: a completion event, nil for an event that
// is not for recur-task, or why the record can never be handled.
func (r *Recurrer) completion(ctx context.Context, msg kafka.Record) (*events.Completed, string) {
	e, err := kafka.DecodeRecord(ctx, msg)
	if err != nil {
		return nil, fmt.Sprintf("not a CloudEvent: %v", err)
	}
	c, err := events.DecodeCompleted(*e)
	switch {
	case errors.Is(err, events.ErrNotForUs):
		return nil, ""
	case err != nil:
		r.Log.Warn().Err(err).Str("event_id", e.ID()).Msg("poison event")
		return nil, err.Error()
	}
	return &c, ""
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
