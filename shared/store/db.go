// Package store is the PostgreSQL adapter: tasks, the outbox and processed
// events, each change and its events written in one transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
)

// Store runs queries on a connection pool.
type Store struct {
	Pool *pgxpool.Pool
	// Budget, when set, is the write budget every user's writes take from.
	Budget *WriteBudget
	// OutboxSlot is the outbox relay's replication slot (empty: the
	// default one), whose lag OutboxBacklog reads.
	OutboxSlot string
}

// Open connects a pool to url. Connecting fails fast (a few seconds) so a
// down database surfaces as "unavailable" instead of a hung request.
func Open(ctx context.Context, url string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 3*time.Second {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Store{Pool: pool}, nil
}

// Close releases the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return classify(s.Pool.Ping(ctx))
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.Pool, fn))
}

// classify turns errors into apperr codes by their cause. Only what says
// the database could not be reached or could not finish now is Unavailable
// (retry later): a lost or refused connection, a timeout, a closed pool,
// a server shutting down, out of resources, a deadlock or serialization
// failure, a read-only server (a standby during a failover), a cancelled
// request. What the schema refuses (data exceptions, constraint
// violations) is Invalid, and anything else (what our own encoders refuse,
// a server error of another class) is Internal: retrying either would fail
// the same way forever. apperr errors and ErrStale pass through.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) || errors.Is(err, contract.ErrStale) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == budgetExhausted:
			return budgetError(pgErr)
		case pgErr.Code == "25006": // read_only_sql_transaction: connected to a standby
			return apperr.Wrap(apperr.Unavailable, err, "database unavailable, try again")
		case strings.HasPrefix(pgErr.Code, "22"), strings.HasPrefix(pgErr.Code, "23"):
			// Input that got past validation but not past the schema.
			return apperr.Wrap(apperr.Invalid, err, "request violates a data constraint")
		}
		switch pgErr.Code[:2] {
		case "08", "40", "53", "57", "58":
			return apperr.Wrap(apperr.Unavailable, err, "database unavailable, try again")
		}
		return apperr.Wrap(apperr.Internal, err, "internal error")
	}
	if errors.Is(err, context.Canceled) {
		return apperr.Wrap(apperr.Unavailable, err, "request cancelled")
	}
	if unreachable(err) {
		return apperr.Wrap(apperr.Unavailable, err, "database unavailable, try again")
	}
	return apperr.Wrap(apperr.Internal, err, "internal error")
}

// unreachable reports whether err says the database could not be reached
// or the connection broke: a failed connect, a timeout, a network error, a
// closed connection or pool, or a failure before anything was sent.
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, net.ErrClosed)
}

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}
