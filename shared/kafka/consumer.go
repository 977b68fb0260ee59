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

// Handler processes records of one partition, in order. It returns how
// many of them, from the first, have their effects committed (or were
// dead-lettered), and an error unless that is all of them; the rest are
// retried.
type Handler func(ctx context.Context, records []Record) (done int, err error)

// DefaultMaxBatch is the most records handed to a Handler at once.
const DefaultMaxBatch = 500

// Consumer runs a consumer group over one topic, processing each partition
// strictly in order and marking a record only after its handler succeeded,
// so a crash never skips an unprocessed record. The records of a partition
// already fetched are handed to Handler together.
type Consumer struct {
	Brokers    []string
	Group      string
	Topic      string
	Partitions int32 // for creating Topic when it is missing
	Handler    Handler
	MaxBatch   int // DefaultMaxBatch when 0
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
	most := h.MaxBatch
	if most <= 0 {
		most = DefaultMaxBatch
	}
	batch := make([]*sarama.ConsumerMessage, 0, most)
	records := make([]Record, 0, most)
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			// Take what else is already fetched, without waiting for more.
			batch = append(batch[:0], msg)
		fill:
			for len(batch) < most {
				select {
				case m, ok := <-claim.Messages():
					if !ok {
						break fill
					}
					batch = append(batch, m)
				default:
					break fill
				}
			}
			records = records[:0]
			for _, m := range batch {
				records = append(records, RecordOf(m))
			}
			if !h.handleWithRetry(ctx, s, batch, records) {
				return nil // session ending; unmarked records are redelivered
			}
		}
	}
}

// handleWithRetry hands batch to the handler, marking what it handled, and
// retries the rest with exponential backoff until all is handled or ctx
// ends. It reports whether the whole batch was handled.
func (h *groupHandler) handleWithRetry(ctx context.Context, s sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage,
	records []Record) bool {
	retry := backoff.Backoff{Min: h.Backoff, Max: h.MaxDelay}
	for attempt := 1; ; attempt++ {
		done, err := h.Handler(ctx, records)
		done = min(max(done, 0), len(batch))
		if err == nil {
			done = len(batch)
		}
		if done > 0 {
			s.MarkMessage(batch[done-1], "")
			batch, records = batch[done:], records[done:]
		}
		if len(batch) == 0 {
			return true
		}
		if h.Retries != nil {
			h.Retries.Inc()
		}
		delay := retry.Next()
		msg := batch[0]
		h.Log.Warn().Err(err).Int("attempt", attempt).Str("topic", msg.Topic).
			Int32("partition", msg.Partition).Int64("offset", msg.Offset).Int("waiting", len(batch)).Dur("retry_in", delay).
			Msg("event not processed; will retry")
		if !backoff.Sleep(ctx, delay) {
			return false
		}
	}
}
