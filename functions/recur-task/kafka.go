package function

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/todoevents/todo/shared/events"
)

// dlqReasonHeader carries why a record was dead-lettered (the same name the
// dlqreason extension gets in binary mode).
const dlqReasonHeader = "ce_" + events.ExtDeadLetterWhy

// consume handles one Kafka record: nil once its effects are committed or it
// was dead-lettered, an error (retried by the consumer) otherwise.
func (f *Function) consume(ctx context.Context, msg *sarama.ConsumerMessage) error {
	e, err := binding.ToEvent(ctx, kafka_sarama.NewMessageFromConsumerMessage(msg))
	if err != nil {
		return f.deadLetter(msg, fmt.Sprintf("not a CloudEvent: %v", err))
	}
	_, err = f.process(ctx, *e)
	if errors.Is(err, events.ErrPoison) {
		return f.deadLetter(msg, err.Error())
	}
	return err
}

// deadLetter copies the record to the dead-letter topic with the reason in a
// header. A failure to do so is returned, so the record is retried, not lost.
func (f *Function) deadLetter(msg *sarama.ConsumerMessage, reason string) error {
	headers := make([]sarama.RecordHeader, 0, len(msg.Headers)+2)
	for _, h := range msg.Headers {
		if h != nil && string(h.Key) != dlqReasonHeader {
			headers = append(headers, *h)
		}
	}
	headers = append(headers,
		sarama.RecordHeader{Key: []byte(dlqReasonHeader), Value: []byte(reason)},
		sarama.RecordHeader{Key: []byte("dlq-origin"), Value: []byte(fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset))})
	out := &sarama.ProducerMessage{Topic: events.TopicDeadLetters, Headers: headers,
		Value: sarama.ByteEncoder(msg.Value)}
	if msg.Key != nil {
		out.Key = sarama.ByteEncoder(msg.Key)
	}
	if err := f.dlq.PublishRaw(out); err != nil {
		return fmt.Errorf("dead-letter record %s/%d/%d: %w", msg.Topic, msg.Partition, msg.Offset, err)
	}
	f.deadLettered.Inc()
	f.Deps.Log.Warn().Str("reason", reason).Str("origin", fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset)).
		Msg("record dead-lettered")
	return nil
}
