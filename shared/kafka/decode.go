package kafka

import (
	"context"
	"errors"

	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
)

// DecodeRecord reads a record as a CloudEvent: structured or binary mode
// by its headers, or, for a record with neither (what Dapr's Kafka
// component writes when it publishes), a value that is a whole event in
// JSON.
func DecodeRecord(ctx context.Context, r Record) (*cloudevents.Event, error) {
	e, err := binding.ToEvent(ctx, kafka_sarama.NewMessageFromConsumerMessage(r.message()))
	if !errors.Is(err, binding.ErrUnknownEncoding) {
		return e, err
	}
	var raw cloudevents.Event
	if jsonErr := raw.UnmarshalJSON(r.Value); jsonErr != nil {
		return nil, err
	}
	if vErr := raw.Validate(); vErr != nil {
		return nil, vErr
	}
	return &raw, nil
}
