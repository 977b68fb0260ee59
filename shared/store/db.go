// Package store is the PostgreSQL adapter: tasks, the outbox and processed
// events, each change and its events written in one transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoevents/todo/shared/apperr"
)

// Store runs queries on a connection pool.
type Store struct {
	Pool *pgxpool.Pool
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

// classify turns database errors into apperr codes: connection loss, a shut
// down server, deadlocks and timeouts become Unavailable (retry later);
// apperr errors pass through; anything else is Internal.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) || errors.Is(err, ErrStale) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "40", "53", "57", "58":
			return apperr.Wrap(apperr.Unavailable, err, "database unavailable, try again")
		case "22", "23":
			// Input that got past validation but not past the schema.
			return apperr.Wrap(apperr.Invalid, err, "request violates a data constraint")
		}
		return apperr.Wrap(apperr.Internal, err, "internal error")
	}
	if errors.Is(err, context.Canceled) {
		return apperr.Wrap(apperr.Unavailable, err, "request cancelled")
	}
	// Anything else from the driver that is not a server error is a lost or
	// refused connection, a timeout or a closed pool: retry later.
	return apperr.Wrap(apperr.Unavailable, err, "database unavailable, try again")
}

func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}
