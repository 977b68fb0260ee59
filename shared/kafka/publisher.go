package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/rs/zerolog"
)

// Publisher sends CloudEvents to Kafka topics in structured content mode
// through kafka_sarama (the record value is the whole event as JSON, header
// content-type: application/cloudevents+json), which every consumer reads:
// recur-task's, Dapr's Kafka subscriber and Knative's KafkaSource. The
// record key is the event's partitionkey extension.
type Publisher struct {
	brokers    []string
	clientID   string
	log        zerolog.Logger
	partitions int32
	topics     []string

	mu       sync.Mutex
	producer sarama.SyncProducer
	senders  map[string]*kafka_sarama.Sender
}

// NewPublisher connects an idempotent producer to brokers now.
func NewPublisher(brokers []string, clientID string) (*Publisher, error) {
	p := LazyPublisher(zerolog.Nop(), brokers, clientID, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p, p.connect()
}

// LazyPublisher returns a publisher that connects (creating topics, when
// given, with partitions partitions; see EnsureTopics, which logs on log) on
// first use, and again after a failed attempt, so a process starts while
// the brokers are down.
func LazyPublisher(log zerolog.Logger, brokers []string, clientID string, partitions int32, topics ...string) *Publisher {
	return &Publisher{brokers: brokers, clientID: clientID, log: log, partitions: partitions, topics: topics,
		senders: map[string]*kafka_sarama.Sender{}}
}

// connect creates the producer if needed; p.mu must be held.
func (p *Publisher) connect() error {
	if p.producer != nil {
		return nil
	}
	if len(p.topics) > 0 {
		if err := EnsureTopics(p.log, p.brokers, p.partitions, p.topics...); err != nil {
			return err
		}
	}
	producer, err := sarama.NewSyncProducer(p.brokers, Config(p.clientID))
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	p.producer = producer
	return nil
}

// Publish sends e to topic and returns once the brokers acknowledged it. An
// error for a record the broker refuses for good (too large, invalid) has a
// Permanent method that returns true.
func (p *Publisher) Publish(ctx context.Context, topic string, e event.Event) error {
	sender, err := p.sender(topic)
	if err != nil {
		return err
	}
	return markRefused(sender.Send(binding.WithForceStructured(ctx), binding.ToMessage(&e)))
}

// PublishStructured sends bodies[i], a whole CloudEvent in JSON (as the
// outbox stores it: structured mode), as it is to topics[i] with key
// keys[i] (its partitionkey), all at once: the producer groups them into as
// few requests as the partitions allow and keeps each partition's order.
// It returns once every record was acknowledged or failed; errs[i] is
// record i's error (nil when acknowledged), with a Permanent method for
// records the broker refuses for good. When ctx ends first, every error is
// ctx's.
func (p *Publisher) PublishStructured(ctx context.Context, topics, keys []string, bodies [][]byte) []error {
	errs := make([]error, len(bodies))
	p.mu.Lock()
	err := p.connect()
	producer := p.producer
	p.mu.Unlock()
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	msgs := make([]*sarama.ProducerMessage, len(bodies))
	index := make(map[*sarama.ProducerMessage]int, len(bodies))
	for i, body := range bodies {
		msgs[i] = &sarama.ProducerMessage{Topic: topics[i], Value: sarama.ByteEncoder(body),
			Headers: []sarama.RecordHeader{{Key: []byte("content-type"), Value: []byte(event.ApplicationCloudEventsJSON)}}}
		if keys[i] != "" {
			msgs[i].Key = sarama.StringEncoder(keys[i])
		}
		index[msgs[i]] = i
	}
	// The producer retries a record for about 40 s (see Config): a caller
	// that stops meanwhile gets its records back as not sent, while the
	// producer finishes them in the background (a record sent after all is
	// a duplicate the next pass sends again; consumers drop it by id).
	sent := make(chan error, 1)
	go func() { sent <- producer.SendMessages(msgs) }()
	select {
	case err = <-sent:
	case <-ctx.Done():
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	}
	var perRecord sarama.ProducerErrors
	if err != nil && !errors.As(err, &perRecord) {
		for i := range errs {
			errs[i] = markRefused(err)
		}
	}
	for _, pe := range perRecord {
		errs[index[pe.Msg]] = markRefused(pe.Err)
	}
	return errs
}

func (p *Publisher) sender(topic string) (*kafka_sarama.Sender, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.senders[topic]; ok {
		return s, nil
	}
	if err := p.connect(); err != nil {
		return nil, err
	}
	s, err := kafka_sarama.NewSenderFromSyncProducer(topic, p.producer)
	if err != nil {
		return nil, err
	}
	p.senders[topic] = s
	return s, nil
}

// Close flushes and closes the producer.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.producer == nil {
		return nil
	}
	return p.producer.Close()
}
