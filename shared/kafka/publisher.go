package kafka

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
)

// Publisher sends CloudEvents to Kafka topics in binary content mode through
// kafka_sarama; the record key is the event's partitionkey extension.
type Publisher struct {
	producer sarama.SyncProducer
	mu       sync.Mutex
	senders  map[string]*kafka_sarama.Sender
}

// NewPublisher connects an idempotent producer to brokers.
func NewPublisher(brokers []string, clientID string) (*Publisher, error) {
	producer, err := sarama.NewSyncProducer(brokers, Config(clientID))
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &Publisher{producer: producer, senders: map[string]*kafka_sarama.Sender{}}, nil
}

// Publish sends e to topic and returns once the brokers acknowledged it.
func (p *Publisher) Publish(ctx context.Context, topic string, e event.Event) error {
	sender, err := p.sender(topic)
	if err != nil {
		return err
	}
	return sender.Send(ctx, binding.ToMessage(&e))
}

// PublishRaw sends a record as is (used to dead-letter records that are not
// valid CloudEvents).
func (p *Publisher) PublishRaw(msg *sarama.ProducerMessage) error {
	_, _, err := p.producer.SendMessage(msg)
	return err
}

func (p *Publisher) sender(topic string) (*kafka_sarama.Sender, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.senders[topic]; ok {
		return s, nil
	}
	s, err := kafka_sarama.NewSenderFromSyncProducer(topic, p.producer)
	if err != nil {
		return nil, err
	}
	p.senders[topic] = s
	return s, nil
}

// Close flushes and closes the producer.
func (p *Publisher) Close() error { return p.producer.Close() }
