// Package testenv gives tests real infrastructure: one private PostgreSQL
// cluster per test binary (a fresh migrated database per caller), in-process
// Kafka-protocol brokers, function dependencies and signed tokens.
package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/todoevents/todo/migrations"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// Secret signs test tokens; AppToken authenticates pushed events.
const (
	Secret   = "test-secret-0123456789abcdef0123"
	AppToken = "test-app-token-0123456789abcdef"
)

var (
	mainRan  atomic.Bool
	startPG  sync.Once
	cluster  *pgcluster.Cluster
	startErr error
	dbSeq    atomic.Int64
)

// Main runs the package's tests and removes its PostgreSQL cluster, which
// the first test that needs a database starts (tests with fakes start
// none). Call it from TestMain.
func Main(m interface{ Run() int }) {
	mainRan.Store(true)
	code := m.Run()
	if cluster != nil {
		cluster.Remove()
	}
	os.Exit(code)
}

// Database creates a fresh database with every migration applied and
// returns its URL. In -short mode (make unit) the test is skipped instead.
func Database(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs PostgreSQL; skipped in -short mode")
	}
	url, err := NewDatabase()
	if err != nil {
		tb.Fatal(err)
	}
	return url
}

// NewDatabase is Database for code outside a test (such as TestMain).
func NewDatabase() (string, error) {
	if !mainRan.Load() {
		return "", errors.New("testenv.Main must run from TestMain")
	}
	startPG.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if cluster, startErr = pgcluster.Start(ctx, pgcluster.Options{}); startErr != nil {
			startErr = fmt.Errorf("testenv: start PostgreSQL: %w", startErr)
		}
	})
	if startErr != nil {
		return "", startErr
	}
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), uuid.NewString()[:8])
	ctx := context.Background()
	if err := cluster.CreateDatabase(ctx, name); err != nil {
		return "", err
	}
	url := cluster.URL(name)
	return url, migrations.Up(ctx, url)
}

// Broker starts an in-process broker with the task topics, closed when the
// test ends, and returns its addresses.
func Broker(tb testing.TB, partitions int32) string {
	tb.Helper()
	b, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, events.Topics...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return strings.Join(b.ListenAddrs(), ",")
}

// Env is a function environment on database url, quiet, with the test
// secret; extra entries override.
func Env(url string, extra map[string]string) map[string]string {
	env := map[string]string{"DATABASE_URL": url, "AUTH_JWT_SECRET": Secret, "APP_API_TOKEN": AppToken,
		"LOG_LEVEL": "error", "CORS_ORIGINS": "http://localhost:3000"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// Startable is a function as the Knative shape has it.
type Startable interface {
	Start(ctx context.Context, env map[string]string) error
	Stop(ctx context.Context) error
}

// Start starts fn on a fresh database without Kafka (extra overrides the
// environment), stopped when the test ends, and returns it.
func Start[F Startable](tb testing.TB, fn F, extra map[string]string) F {
	tb.Helper()
	if err := fn.Start(context.Background(), Env(Database(tb), extra)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = fn.Stop(context.Background()) })
	return fn
}

// Store opens a store on the database at url, closed when the test ends.
func Store(tb testing.TB, url string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), url, 10)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Close)
	return st
}

// Token signs a valid bearer token for user.
func Token(tb testing.TB, user string) string {
	tb.Helper()
	tok, err := SignToken([]byte(Secret), user, time.Now(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// User returns a user id unique to this run.
func User() string { return "user-" + uuid.NewString()[:13] }

// OwnDatabase starts a PostgreSQL server of the test's own with opts (for
// tests that restart it, change its settings or need it without logical
// decoding), creates a migrated database on it and returns both; the
// server is removed when the test ends.
func OwnDatabase(tb testing.TB, opts pgcluster.Options) (*pgcluster.Cluster, string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs PostgreSQL; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Remove)
	if err := c.CreateDatabase(ctx, "todo"); err != nil {
		tb.Fatal(err)
	}
	url := c.URL("todo")
	if err := migrations.Up(ctx, url); err != nil {
		tb.Fatal(err)
	}
	return c, url
}
