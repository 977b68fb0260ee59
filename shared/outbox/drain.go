package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

type row struct {
	seq   int64
	topic string
	body  []byte
}

// drain publishes pending rows in seq order, stopping at the first failure so
// per-key order is kept. It returns how many rows it published.
func (r *Relay) drain(ctx context.Context, conn *pgx.Conn) (int, error) {
	rows, err := conn.Query(ctx, `SELECT seq, topic, event::text FROM outbox
		WHERE published_at IS NULL ORDER BY seq LIMIT $1`, r.batch())
	if err != nil {
		return 0, dbError{err}
	}
	pending, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var rw row
		err := cr.Scan(&rw.seq, &rw.topic, &rw.body)
		return rw, err
	})
	if err != nil {
		return 0, dbError{err}
	}
	for i, rw := range pending {
		var e cloudevents.Event
		if err := e.UnmarshalJSON(rw.body); err != nil {
			return i, dbError{fmt.Errorf("outbox row %d is not a CloudEvent: %w", rw.seq, err)}
		}
		if err := r.Publisher.Publish(ctx, rw.topic, e); err != nil {
			r.Failed.Inc()
			if _, dbErr := conn.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2
				WHERE seq = $1`, rw.seq, err.Error()); dbErr != nil {
				return i, dbError{dbErr}
			}
			return i, fmt.Errorf("publish event %s: %w", e.ID(), err)
		}
		if _, err := conn.Exec(ctx, `UPDATE outbox SET published_at = now(), attempts = attempts + 1,
			last_error = NULL WHERE seq = $1`, rw.seq); err != nil {
			return i, dbError{err}
		}
		r.Published.Inc()
		r.Log.Debug().Str("event_id", e.ID()).Str("type", e.Type()).Str("topic", rw.topic).Msg("event published")
	}
	return len(pending), nil
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

// clean deletes published rows older than the retention period.
func (r *Relay) clean(ctx context.Context, conn *pgx.Conn) {
	retention := r.Retention
	if retention <= 0 {
		retention = 24 * time.Hour
	}
	tag, err := conn.Exec(ctx, `DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)`,
		retention.Seconds())
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
