package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/todoevents/todo/shared/apperr"
)

// WriteBudget is the write rate every user is held to, across every route
// that changes data and every process: PerSecond writes a second, in
// bursts of up to Burst. The buckets live in PostgreSQL (write_budgets):
// each write takes a token in its own transaction, so a refused write
// writes nothing.
type WriteBudget struct {
	PerSecond float64
	Burst     int
}

// NewWriteBudget is perSecond writes a second with bursts of five seconds'
// worth; nil (no budget) when perSecond is 0.
func NewWriteBudget(perSecond float64) *WriteBudget {
	if perSecond <= 0 {
		return nil
	}
	return &WriteBudget{PerSecond: perSecond, Burst: max(1, int(5*perSecond))}
}

// budgetExhausted is the SQLSTATE take_write_token raises.
const budgetExhausted = "TD429"

// queueWriteToken adds to b, first, the statement that takes a token of
// user's budget (nothing without a budget).
func (s *Store) queueWriteToken(b *pgx.Batch, user string) {
	if s.Budget != nil {
		b.Queue(`SELECT take_write_token($1, $2, $3)`, user, s.Budget.PerSecond, float64(s.Budget.Burst))
	}
}

// budgetError is the 429 a refused token becomes, with when to try again.
func budgetError(pgErr *pgconn.PgError) error {
	wait, _ := strconv.ParseFloat(pgErr.Detail, 64)
	d := time.Duration(wait * float64(time.Second))
	return &apperr.Error{Code: apperr.RateLimited, RetryAfter: max(d, time.Second), Err: pgErr,
		Message: fmt.Sprintf("too many writes for this user; retry in %.1fs (RATE_LIMIT_PER_USER)", d.Seconds())}
}

// PurgeWriteBudgets forgets budgets idle for an hour (long refilled: the
// same as none) and returns how many.
func (s *Store) PurgeWriteBudgets(ctx context.Context) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM write_budgets WHERE at < now() - interval '1 hour'`)
	return tag.RowsAffected(), classify(err)
}
