package outbox

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/events"
)

// keyLock is the first half of the per-key advisory lock (two-int keys are
// a key space of their own, apart from the relay's bigint lock).
const keyLock = 0x746f

// Enqueue writes evt to the outbox inside tx, for the topic its type goes
// to (events.TopicOf). Only a valid CloudEvent is written, so the relay can
// always publish what it finds. Call it as the last statement of the
// transaction.
func Enqueue(ctx context.Context, tx pgx.Tx, evt cloudevents.Event) error {
	if err := evt.Validate(); err != nil {
		return fmt.Errorf("outbox refuses an invalid CloudEvent: %w", err)
	}
	body, err := evt.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	key, _ := evt.Extensions()[events.ExtPartitionKey].(string)
	// Rows of one key must get their seq in commit order, or the relay could
	// publish a later event of a user before an earlier one still being
	// committed. The insert is the last statement of every transaction, so
	// this per-key lock is held only until the commit.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, keyLock, key); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, partition_key, event) VALUES ($1, $2, $3, $4)
		ON CONFLICT (topic, event_id) DO NOTHING`, evt.ID(), events.TopicOf(evt), key, body)
	return err
}

// Backlog is what the outbox holds: rows waiting to be published, the age
// in seconds of the oldest, and rows set aside because the broker refused
// them for good.
type Backlog struct {
	Pending   int64
	OldestAge float64
	Failed    int64
}

// ReadBacklog reads the outbox's Backlog.
func ReadBacklog(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (Backlog, error) {
	var b Backlog
	err := q.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE failed_at IS NULL),
		COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)), 0)::float8,
		count(*) FILTER (WHERE failed_at IS NOT NULL)
		FROM outbox WHERE published_at IS NULL`).Scan(&b.Pending, &b.OldestAge, &b.Failed)
	return b, err
}
