package function

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
)

// Consume handles one Kafka record: nil once its effects are committed or
// it was dead-lettered (through the outbox, like pushed poison), an error
// (retried by the consumer) otherwise.
func (r *Recurrer) Consume(ctx context.Context, msg *sarama.ConsumerMessage) error {
	e, err := kafka.DecodeRecord(ctx, msg)
	if err != nil {
		return r.deadLetterRecord(ctx, msg, fmt.Sprintf("not a CloudEvent: %v", err))
	}
	_, err = r.Process(ctx, *e)
	if errors.Is(err, events.ErrPoison) {
		return r.deadLetterRecord(ctx, msg, err.Error())
	}
	return err
}

// deadLetterRecord dead-letters msg as received. A failure to do so is
// returned, so the record is retried, not lost.
func (r *Recurrer) deadLetterRecord(ctx context.Context, msg *sarama.ConsumerMessage, reason string) error {
	in := events.DeadLetterData{Reason: reason, Origin: fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset),
		Headers: map[string]string{}, Raw: msg.Value}
	for _, h := range msg.Headers {
		if h != nil {
			in.Headers[string(h.Key)] = string(h.Value)
		}
	}
	in.ContentType = in.Headers["content-type"]
	if err := r.DeadLetter(ctx, in, string(msg.Key)); err != nil {
		return fmt.Errorf("dead-letter record %s: %w", in.Origin, err)
	}
	return nil
}
