package store

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/events"
)

// outboxKeyLock is the first half of the per-key advisory lock (two-int keys
// are a key space of their own, apart from the relay's bigint lock).
const outboxKeyLock = 0x746f

// enqueue writes evt to the outbox inside tx, to be relayed to the topic of
// its kind: dead letters to the DLQ, the rest to task-events. Only a valid
// CloudEvent is written, so the relay can always publish what it finds.
func enqueue(ctx context.Context, tx pgx.Tx, evt cloudevents.Event) error {
	if err := evt.Validate(); err != nil {
		return fmt.Errorf("outbox refuses an invalid CloudEvent: %w", err)
	}
	body, err := evt.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	topic := events.TopicTaskEvents
	if evt.Type() == events.TypeDeadLettered {
		topic = events.TopicDeadLetters
	}
	key, _ := evt.Extensions()[events.ExtPartitionKey].(string)
	// Rows of one key must get their seq in commit order, or the relay could
	// publish a later event of a user before an earlier one still being
	// committed. The insert is the last statement of every transaction, so
	// this per-key lock is held only until the commit.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, outboxKeyLock, key); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, partition_key, event) VALUES ($1, $2, $3, $4)
		ON CONFLICT (topic, event_id) DO NOTHING`, evt.ID(), topic, key, body)
	return err
}

// Enqueue queues evt, an event not tied to a task change (a dead letter),
// in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, evt cloudevents.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return enqueue(ctx, tx, evt) })
}

// OutboxBacklog returns the number of rows waiting to be published, the age
// in seconds of the oldest (0 when none), and the number of rows set aside
// because the broker refused them for good.
func (s *Store) OutboxBacklog(ctx context.Context) (pending int64, oldestAge float64, failed int64, err error) {
	err = s.Pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE published_at IS NULL AND failed_at IS NULL),
		COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE published_at IS NULL AND failed_at IS NULL)), 0)::float8,
		count(*) FILTER (WHERE failed_at IS NOT NULL)
		FROM outbox WHERE published_at IS NULL`).Scan(&pending, &oldestAge, &failed)
	return pending, oldestAge, failed, classify(err)
}
