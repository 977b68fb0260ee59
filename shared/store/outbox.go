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
// its kind: dead letters (those with a reason) to the DLQ, the rest to
// task-events.
func enqueue(ctx context.Context, tx pgx.Tx, evt cloudevents.Event) error {
	body, err := evt.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	topic := events.TopicTaskEvents
	if _, ok := evt.Extensions()[events.ExtDeadLetterWhy]; ok {
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

// EnqueueDeadLetter queues a copy of evt, carrying reason, for the
// dead-letter topic. Dead-lettering the same event again changes nothing.
func (s *Store) EnqueueDeadLetter(ctx context.Context, evt cloudevents.Event, reason string) error {
	evt = evt.Clone()
	evt.SetExtension(events.ExtDeadLetterWhy, reason)
	return s.inTx(ctx, func(tx pgx.Tx) error { return enqueue(ctx, tx, evt) })
}

// OutboxBacklog returns the number of unpublished outbox rows and the age in
// seconds of the oldest (0 when none).
func (s *Store) OutboxBacklog(ctx context.Context) (pending int64, oldestAge float64, err error) {
	err = s.Pool.QueryRow(ctx, `SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
		FROM outbox WHERE published_at IS NULL`).Scan(&pending, &oldestAge)
	return pending, oldestAge, classify(err)
}
