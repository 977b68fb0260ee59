package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/trace"

	"github.com/todoevents/todo/shared/tracing"
)

type row struct {
	seq        int64
	topic, key string
	body       []byte
}

// execer runs a statement: a connection, a transaction or the pool.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// querier also reads rows.
type querier interface {
	execer
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// drain publishes a batch of pending rows in seq order in one go and marks
// the published ones in one statement. Rows created before the resume
// point of slot (resumeSQL) are not looked at: the stream published them.
// It returns how many rows it marked or set aside, and the first transient
// failure (see send).
func (r *Relay) drain(ctx context.Context, conn querier, slot string) (int, error) {
	rows, err := conn.Query(ctx, `SELECT seq, topic, partition_key, event::text FROM outbox
		WHERE published_at IS NULL AND failed_at IS NULL AND created_at >= `+resumeSQL+` ORDER BY seq LIMIT $1`,
		r.batch(), slot)
	if err != nil {
		return 0, dbError{err}
	}
	pending, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var rw row
		err := cr.Scan(&rw.seq, &rw.topic, &rw.key, &rw.body)
		return rw, err
	})
	if err != nil {
		return 0, dbError{err}
	}
	published, done, failure := r.send(ctx, conn, pending)
	if len(published) > 0 {
		if _, err := conn.Exec(ctx, `UPDATE outbox SET published_at = now(), attempts = attempts + 1,
			last_error = NULL WHERE seq = ANY($1)`, published); err != nil {
			return done, dbError{err}
		}
	}
	return done, failure
}

// send publishes rows in one go, in order. A row that can never be
// published (not a CloudEvent, or refused by the broker for good, when
// sent on its own) is set aside with its error and the rows behind it go
// on. At a transient failure it stops: the rows from there on are not
// done, to be sent again with it (a duplicate of any that did go, which
// consumers drop by event id, rather than an event overtaking an earlier
// one of the same user). It returns the seqs published, how many rows
// from the start are done (published or set aside), and that failure.
func (r *Relay) send(ctx context.Context, db execer, rows []row) (published []int64, done int, failure error) {
	var sendable []row
	var events []cloudevents.Event
	at := make([]int, 0, len(rows)) // sendable[i] is rows[at[i]]
	for i, rw := range rows {
		var e cloudevents.Event
		if err := e.UnmarshalJSON(rw.body); err != nil {
			if err := r.setAside(ctx, db, rw.seq, fmt.Errorf("not a CloudEvent: %w", err)); err != nil {
				return published, 0, err
			}
			continue
		}
		sendable, events, at = append(sendable, rw), append(events, e), append(at, i)
	}
	if len(events) == 0 {
		return nil, len(rows), nil
	}
	ctxs, spans := r.startSends(ctx, sendable, events)
	errs := r.publish(ctx, ctxs, sendable, events)
	if len(events) > 1 {
		// A broker refuses a partition's whole request for one bad record:
		// only a record refused on its own is set aside.
		for i, err := range errs {
			if err != nil && permanent(err) {
				errs[i] = r.publish(ctx, sub(ctxs, i), sendable[i:i+1], events[i:i+1])[0]
			}
		}
	}
	for i, span := range spans {
		tracing.Fail(span, errs[i])
		span.End()
	}
	for i, err := range errs {
		switch {
		case err == nil:
			published = append(published, sendable[i].seq)
			r.Log.Debug().Str("event_id", events[i].ID()).Str("type", events[i].Type()).Str("topic", sendable[i].topic).
				Msg("event published")
		case permanent(err):
			r.Failed.Inc()
			if err := r.setAside(ctx, db, sendable[i].seq, err); err != nil {
				return published, at[i], err
			}
		default:
			r.Failed.Inc()
			if _, dbErr := db.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2
				WHERE seq = $1`, sendable[i].seq, err.Error()); dbErr != nil {
				return published, at[i], dbError{dbErr}
			}
			r.Published.Add(float64(len(published)))
			return published, at[i], fmt.Errorf("publish event %s: %w", events[i].ID(), err)
		}
	}
	r.Published.Add(float64(len(published)))
	return published, len(rows), nil
}

// startSends starts the send span of each event that carries a trace
// context, as its child (nil, nil when none does: nothing is traced).
// ctxs[i] holds the span of events[i].
func (r *Relay) startSends(ctx context.Context, rows []row, events []cloudevents.Event) ([]context.Context, []trace.Span) {
	first := slices.IndexFunc(events, tracing.Traced)
	if first < 0 || r.Tracer == nil {
		return nil, nil
	}
	now := time.Now()
	ctxs, spans := make([]context.Context, len(events)), make([]trace.Span, len(events))
	for i, e := range events {
		ctxs[i], spans[i] = tracing.StartSend(ctx, r.Tracer, e, rows[i].topic, now)
	}
	return ctxs, spans
}

// sub is ctxs[i:i+1], or nil for nil.
func sub(ctxs []context.Context, i int) []context.Context {
	if ctxs == nil {
		return nil
	}
	return ctxs[i : i+1]
}

// publish sends rows, whose events are events: as stored, when the
// publisher takes structured events (each carries its trace context),
// else through the events, each under its send span's context in ctxs
// (nil: ctx).
func (r *Relay) publish(ctx context.Context, ctxs []context.Context, rows []row, events []cloudevents.Event) []error {
	topics := make([]string, len(rows))
	for i, rw := range rows {
		topics[i] = rw.topic
	}
	sp, ok := r.Publisher.(StructuredPublisher)
	if !ok {
		return oneByOne(ctx, ctxs, r.Publisher, topics, events)
	}
	keys, bodies := make([]string, len(rows)), make([][]byte, len(rows))
	for i, rw := range rows {
		keys[i], bodies[i] = rw.key, rw.body
	}
	return sp.PublishStructured(ctx, topics, keys, bodies)
}

// permanent reports whether err says the event can never be published (an
// error with a Permanent method returning true).
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// setAside marks row seq failed for good with cause, so it no longer holds
// up the rows behind it; todo_outbox_failed_rows counts such rows.
func (r *Relay) setAside(ctx context.Context, db execer, seq int64, cause error) error {
	if _, err := db.Exec(ctx, `UPDATE outbox SET failed_at = now(), attempts = attempts + 1, last_error = $2
		WHERE seq = $1`, seq, cause.Error()); err != nil {
		return dbError{err}
	}
	r.Log.Error().Err(cause).Int64("seq", seq).Msg("outbox row can never be published; set aside")
	return nil
}

// waitForWork blocks until a NOTIFY, a Wake call, the poll interval or ctx.
func (r *Relay) waitForWork(ctx context.Context, conn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, r.poll())
	defer cancel()
	go func() {
		select {
		case <-r.wakeCh():
			cancel()
		case <-wctx.Done():
		}
	}()
	_, err := conn.WaitForNotification(wctx)
	if err == nil || wctx.Err() != nil {
		return nil
	}
	return dbError{err}
}

// cleanSQL deletes the rows created more than $1 seconds ago that were
// published: stamped so by the polling relay, or streamed (created before
// the resume point of slot $2, which a stream's position only passes once
// the broker has them). Rows are created in time order, so the BRIN index
// on created_at finds the old ones without reading the table. Rows set
// aside stay for an operator.
var cleanSQL = `DELETE FROM outbox WHERE created_at < now() - make_interval(secs => $1)
	AND (published_at IS NOT NULL OR (failed_at IS NULL AND created_at < ` + resumeSQL + `))`

// clean deletes published rows older than the retention period.
func (r *Relay) clean(ctx context.Context, slot string) {
	retention := r.Retention
	if retention <= 0 {
		retention = 24 * time.Hour
	}
	tag, err := r.Pool.Exec(ctx, cleanSQL, retention.Seconds(), slot)
	if err != nil {
		r.Log.Warn().Err(err).Msg("outbox clean-up failed")
		return
	}
	if n := tag.RowsAffected(); n > 0 {
		r.Log.Info().Int64("deleted", n).Msg("outbox clean-up")
	}
}

type dbError struct{ err error }

func (e dbError) Error() string { return e.err.Error() }
func (e dbError) Unwrap() error { return e.err }

func isDBError(err error) bool {
	var d dbError
	var pgErr *pgconn.PgError
	return errors.As(err, &d) || errors.As(err, &pgErr)
}
