package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/todoevents/todo/shared/contract"
)

// UnrecurredCompletions returns up to limit done or skipped recurring tasks
// closed more than grace ago whose closing recur-task never handled, oldest
// first, leaving out the tasks skip names.
func (s *Store) UnrecurredCompletions(ctx context.Context, grace time.Duration, limit int, skip []string) ([]contract.Completion, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, user_id, coalesce(completed_at, skipped_at) FROM tasks
		WHERE status IN ('done', 'skipped') AND recurring_type <> 'none' AND recurred_at IS NULL
		  AND coalesce(completed_at, skipped_at) < now() - make_interval(secs => $1)
		  AND id::text <> ALL(coalesce($3::text[], '{}'))
		ORDER BY coalesce(completed_at, skipped_at) LIMIT $2`, grace.Seconds(), limit, skip)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (contract.Completion, error) {
		var c contract.Completion
		err := r.Scan(&c.TaskID, &c.UserID, &c.CompletedAt)
		return c, err
	})
	return out, classify(err)
}

// purgeProcessedSQL deletes the processed event ids older than $1 seconds
// (found through their time's BRIN index).
const purgeProcessedSQL = `DELETE FROM processed_events WHERE processed_at < now() - make_interval(secs => $1)`

// PurgeProcessedEvents deletes processed event ids older than retention and
// returns how many.
func (s *Store) PurgeProcessedEvents(ctx context.Context, retention time.Duration) (int64, error) {
	tag, err := s.Pool.Exec(ctx, purgeProcessedSQL, retention.Seconds())
	return tag.RowsAffected(), classify(err)
}

// Leading runs fn only if this process holds the advisory lock key (one
// holder at a time across processes), and reports whether it ran.
func (s *Store) Leading(ctx context.Context, key int64, fn func(context.Context) error) (bool, error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return false, classify(err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&locked); err != nil || !locked {
		return false, classify(err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	}()
	return true, fn(ctx)
}
