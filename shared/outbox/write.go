package outbox

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/tracing"
)

// keyLock is the first half of the per-key advisory lock (two-int keys are
// a key space of their own, apart from the relay's bigint lock).
const keyLock = 0x746f

// Enqueue writes evt to the outbox inside tx, for the topic its type goes
// to (events.TopicOf). Only a valid CloudEvent is written, so the relay can
// always publish what it finds. Call it as the last statement of the
// transaction.
func Enqueue(ctx context.Context, tx pgx.Tx, evt cloudevents.Event) error {
	return EnqueueAll(ctx, tx, []cloudevents.Event{evt})
}

// EnqueueAll writes evts, in this order, like Enqueue, with two statements
// however many there are.
func EnqueueAll(ctx context.Context, tx pgx.Tx, evts []cloudevents.Event) error {
	b := &pgx.Batch{}
	if err := Queue(ctx, b, evts...); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// Queue adds to b, a batch sent inside a transaction after the
// transaction's other writes, the two statements that write evts to the
// outbox as EnqueueAll does; the batch's Close reports their errors. It
// lets a write and its event travel in one round trip. Each event that
// carries no trace context yet gets the one of its creation under ctx's
// span (tracing.Create), which every later hop continues.
func Queue(ctx context.Context, b *pgx.Batch, evts ...cloudevents.Event) error {
	n := len(evts)
	ids, topics, keys, bodies := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, evt := range evts {
		// What the encoder refuses is refused for good (Invalid), never a
		// reason to retry.
		if err := evt.Validate(); err != nil {
			return apperr.Wrap(apperr.Invalid, err, "the outbox refuses an invalid CloudEvent")
		}
		topics[i] = events.TopicOf(evt)
		tracing.Create(ctx, &evt, topics[i])
		body, err := evt.MarshalJSON()
		if err != nil {
			return apperr.Wrap(apperr.Invalid, err, "the event cannot be encoded")
		}
		keys[i], _ = evt.Extensions()[events.ExtPartitionKey].(string)
		ids[i], bodies[i] = evt.ID(), string(body)
	}
	// Rows of one key must get their seq in commit order, or the relay could
	// publish a later event of a user before an earlier one still being
	// committed. The insert is the last statement of every transaction, so
	// these per-key locks are held only until the commit; they are taken in
	// one order, so two batches cannot wait for each other.
	b.Queue(`SELECT pg_advisory_xact_lock($1, h)
		FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS locks`, keyLock, keys)
	b.Queue(`INSERT INTO outbox (event_id, topic, partition_key, event)
		SELECT id, topic, key, body::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
			WITH ORDINALITY AS e(id, topic, key, body, n) ORDER BY n
		ON CONFLICT (topic, event_id) DO NOTHING`, ids, topics, keys, bodies)
	return nil
}

// Backlog is what the outbox holds: rows waiting to be published, the age
// in seconds of the oldest, rows set aside because the broker refused
// them for good, and the bytes of write-ahead log the relay's replication
// slot has not confirmed (0 without one).
type Backlog struct {
	Pending      int64
	OldestAge    float64
	Failed       int64
	SlotLagBytes float64
}

// ReadBacklog reads the outbox's Backlog, for the relay whose slot is slot
// (empty: the default). Waiting rows are the outbox_waiting view's: rows
// the stream has passed (up to its saved last_seq) are not; the view
// reads only the rows after it.
func ReadBacklog(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, slot string) (Backlog, error) {
	var b Backlog
	err := q.QueryRow(ctx, `WITH s AS (SELECT `+slotSQL+` AS name)
		SELECT (SELECT count(*) FROM outbox_waiting),
			COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(created_at)) FROM outbox_waiting), 0)::float8,
			(SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL AND published_at IS NULL),
			COALESCE((SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots
				WHERE slot_name = (SELECT name FROM s) AND NOT pg_is_in_recovery()), 0)::float8`, slot).
		Scan(&b.Pending, &b.OldestAge, &b.Failed, &b.SlotLagBytes)
	return b, err
}
