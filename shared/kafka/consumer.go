package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/backoff"
)

// Handler processes one record. It returns nil once the record's effects are
// committed (or it was dead-lettered); any error means "not done, retry".
type Handler func(ctx context.Context, msg *sarama.ConsumerMessage) error

// Consumer runs a consumer group over one topic, processing each partition
// strictly in order and marking a record only after its handler succeeded,
// so a crash never skips an unprocessed record.
type Consumer struct {
	Brokers    []string
	Group      string
	Topic      string
	Partitions int32 // for creating Topic when it is missing
	Handler    Handler
	Log        zerolog.Logger
	Backoff    time.Duration // first retry delay (100 ms); doubles up to MaxDelay (10 s)
	MaxDelay   time.Duration
	Retries    prometheus.Counter // failed attempts (optional)
}

// Run consumes until ctx ends, then commits marked offsets and leaves the
// group. While the brokers cannot be reached it keeps trying.
func (c *Consumer) Run(ctx context.Context) error {
	retry := backoff.Backoff{Min: c.Backoff, Max: c.MaxDelay}
	for ctx.Err() == nil {
		err := EnsureTopics(c.Brokers, max(c.Partitions, 1), c.Topic)
		if err == nil {
			err = c.consume(ctx)
		}
		if err == nil || ctx.Err() != nil {
			return nil
		}
		delay := retry.Next()
		c.Log.Warn().Err(err).Dur("retry_in", delay).Msg("cannot reach Kafka; retrying")
		backoff.Sleep(ctx, delay)
	}
	return nil
}

func (c *Consumer) consume(ctx context.Context) error {
	group, err := sarama.NewConsumerGroup(c.Brokers, c.Group, Config(c.Group))
	if err != nil {
		return fmt.Errorf("kafka consumer group: %w", err)
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			c.Log.Warn().Err(err).Msg("consumer group error")
		}
	}()
	for ctx.Err() == nil {
		if err := group.Consume(ctx, []string{c.Topic}, (*groupHandler)(c)); err != nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return nil
			}
			c.Log.Warn().Err(err).Msg("consumer group session ended; rejoining")
			backoff.Sleep(ctx, time.Second)
		}
	}
	return nil
}

type groupHandler Consumer

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error { return nil }

// Cleanup commits what was marked before the session ends.
func (h *groupHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	return nil
}

func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := s.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if !h.handleWithRetry(ctx, msg) {
				return nil // session ending; the record stays unmarked and is redelivered
			}
			s.MarkMessage(msg, "")
		}
	}
}

// handleWithRetry retries the handler with exponential backoff until it
// succeeds or ctx ends. It reports whether the record was handled.
func (h *groupHandler) handleWithRetry(ctx context.Context, msg *sarama.ConsumerMessage) bool {
	retry := backoff.Backoff{Min: h.Backoff, Max: h.MaxDelay}
	for attempt := 1; ; attempt++ {
		err := h.Handler(ctx, msg)
		if err == nil {
			return true
		}
		if h.Retries != nil {
			h.Retries.Inc()
		}
		delay := retry.Next()
		h.Log.Warn().Err(err).Int("attempt", attempt).Str("topic", msg.Topic).
			Int32("partition", msg.Partition).Int64("offset", msg.Offset).Dur("retry_in", delay).
			Msg("event not processed; will retry")
		if !backoff.Sleep(ctx, delay) {
			return false
		}
	}
}
