package store

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/outbox"
)

// Enqueue queues evt, an event not tied to a task change (a dead letter),
// in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, evt cloudevents.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return outbox.Enqueue(ctx, tx, evt) })
}

// OutboxBacklog reads what the outbox holds.
func (s *Store) OutboxBacklog(ctx context.Context) (outbox.Backlog, error) {
	b, err := outbox.ReadBacklog(ctx, s.Pool, s.OutboxSlot)
	return b, classify(err)
}
