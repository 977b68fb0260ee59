package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/store"
)

// Only what says the database is away or busy is worth a retry; what an
// encoder or the schema refuses fails the same way forever, so it must not
// be retried (it would block a partition).
func TestClassifyByCause(t *testing.T) {
	t.Parallel()
	_, encodeErr := json.Marshal(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	cases := []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"an encoder's refusal", fmt.Errorf("next occurrence: %w", encodeErr), apperr.Internal},
		{"unique violation", pg("23505"), apperr.Invalid},
		{"check violation", pg("23514"), apperr.Invalid},
		{"datetime overflow", pg("22008"), apperr.Invalid},
		{"undefined column", pg("42703"), apperr.Internal},
		{"connection failure", pg("08006"), apperr.Unavailable},
		{"serialization failure", pg("40001"), apperr.Unavailable},
		{"deadlock", pg("40P01"), apperr.Unavailable},
		{"too many connections", pg("53300"), apperr.Unavailable},
		{"admin shutdown", pg("57P01"), apperr.Unavailable},
		{"statement timeout", pg("57014"), apperr.Unavailable},
		{"read-only standby", pg("25006"), apperr.Unavailable},
		{"network", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, apperr.Unavailable},
		{"connection closed", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), apperr.Unavailable},
		{"closed pool", puddle.ErrClosedPool, apperr.Unavailable},
		{"cancelled", context.Canceled, apperr.Unavailable},
		{"deadline", context.DeadlineExceeded, apperr.Unavailable},
		{"our own error", apperr.New(apperr.NotFound, "task x not found"), apperr.NotFound},
		{"a plain error", errors.New("task vanished during update"), apperr.Internal},
	}
	for _, tc := range cases {
		if got := apperr.CodeOf(store.Classify(tc.err)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if !errors.Is(store.Classify(fmt.Errorf("%w: not done", contract.ErrStale)), contract.ErrStale) {
		t.Error("a stale completion lost its cause")
	}
}
