// Package testenv gives tests real infrastructure: one private PostgreSQL
// cluster per test binary (a fresh migrated database per caller), in-process
// Kafka-protocol brokers, function dependencies and signed tokens.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/todoevents/todo/internal/pgcluster"
	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/auth"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store"
)

// Secret signs test tokens; AppToken authenticates pushed events.
const (
	Secret   = "test-secret-0123456789abcdef0123"
	AppToken = "test-app-token-0123456789abcdef"
)

var (
	cluster atomic.Pointer[pgcluster.Cluster]
	dbSeq   atomic.Int64
)

// Main starts the package's PostgreSQL cluster, runs the tests and removes
// the cluster. Call it from TestMain.
func Main(m interface{ Run() int }) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: start PostgreSQL:", err)
		os.Exit(1)
	}
	cluster.Store(c)
	code := m.Run()
	c.Remove()
	os.Exit(code)
}

// Database creates a fresh database with every migration applied and
// returns its URL.
func Database(tb testing.TB) string {
	tb.Helper()
	url, err := NewDatabase()
	if err != nil {
		tb.Fatal(err)
	}
	return url
}

// NewDatabase is Database for code outside a test (such as TestMain).
func NewDatabase() (string, error) {
	c := cluster.Load()
	if c == nil {
		return "", errors.New("testenv.Main must run from TestMain")
	}
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), uuid.NewString()[:8])
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, name); err != nil {
		return "", err
	}
	url := c.URL(name)
	return url, store.Migrate(ctx, url)
}

// Broker starts an in-process broker with the task topics, closed when the
// test ends, and returns its addresses.
func Broker(tb testing.TB, partitions int32) string {
	tb.Helper()
	b, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, events.TopicTaskEvents, events.TopicDeadLetters))
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

// Deps opens dependencies for function name on a fresh database without
// Kafka, closed when the test ends.
func Deps(tb testing.TB, name string) *app.Deps {
	tb.Helper()
	d, err := app.Open(context.Background(), name, Env(Database(tb), nil), config.Needs{Auth: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.Close)
	return d
}

// Token signs a valid bearer token for user.
func Token(tb testing.TB, user string) string {
	tb.Helper()
	tok, err := auth.Issue([]byte(Secret), user, time.Now(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// User returns a user id unique to this run.
func User() string { return "user-" + uuid.NewString()[:13] }
