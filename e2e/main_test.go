// End-to-end tier: the functions as real binaries, a real Apache Kafka broker
// in KRaft mode behind a toxiproxy, and a private PostgreSQL. Tests run one
// after another because they break shared parts on purpose.
package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/dev/otlpsink"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

type system struct {
	dir   string
	bins  string
	pg    *pgcluster.Cluster
	kafka *harness.Kafka
	proxy *harness.Proxy
	env   map[string]string
	api   map[string]*harness.Proc
	recur []*harness.Proc
	db    *pgxpool.Pool
	// traces receives the spans every function exports (OTLP/HTTP).
	traces *otlpsink.Sink

	keepLogs bool
}

var sys *system

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("end-to-end tier skipped in -short mode")
		os.Exit(0)
	}
	if os.Getenv("E2E") == "off" {
		fmt.Println("E2E=off: end-to-end tier skipped")
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		fmt.Printf("end-to-end tier skipped on %s: it breaks processes on purpose and relies on Linux's parent-death signal so that no broker or function outlives a failed run\n", runtime.GOOS)
		os.Exit(0)
	}
	s, err := start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e set-up:", err)
		if s != nil {
			s.close()
		}
		os.Exit(1)
	}
	sys = s
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "e2e logs kept in", s.dir)
		s.keepLogs = true
	}
	s.close()
	os.Exit(code)
}

func start() (*system, error) {
	dir, err := os.MkdirTemp("", "todo-e2e-")
	if err != nil {
		return nil, err
	}
	s := &system{dir: dir, bins: filepath.Join(dir, "bin"), api: map[string]*harness.Proc{}}
	if err := harness.Build(s.bins); err != nil {
		return s, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.pg, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg")}); err != nil {
		return s, err
	}
	if s.proxy, err = harness.NewProxy(); err != nil {
		return s, err
	}
	if s.kafka, err = harness.NewKafka(filepath.Join(dir, "kafka"), s.proxy.Port); err != nil {
		return s, err
	}
	if err := s.proxy.Forward(s.kafka.Addr()); err != nil {
		return s, err
	}
	if err := s.kafka.Start(); err != nil {
		return s, err
	}
	if s.traces, err = otlpsink.Listen("127.0.0.1:0"); err != nil {
		return s, err
	}
	url := s.pg.URL("postgres")
	s.env = testkit.Env(url, map[string]string{"KAFKA_BROKERS": s.proxy.Addr(), "KAFKA_PARTITIONS": "3",
		"LOG_LEVEL": "info", "DB_MAX_CONNS": "8"})
	maps.Copy(s.env, s.traced())
	if err := runMigrations(ctx, url); err != nil {
		return s, err
	}
	if s.db, err = pgxpool.New(ctx, url); err != nil {
		return s, err
	}
	for _, fn := range []string{"create-task", "complete-task", "skip-task", "read-tasks"} {
		p, err := harness.StartProc(filepath.Join(s.bins, fn), fn, s.env, dir)
		if err != nil {
			return s, err
		}
		s.api[fn] = p
	}
	for i := 0; i < 2; i++ {
		if err := s.startRecur(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// traced is the environment that makes a function export its spans to the
// system's receiver, in batches sent every 200 ms.
func (s *system) traced() map[string]string {
	return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": s.traces.URL(), "OTEL_BSP_SCHEDULE_DELAY": "200"}
}

// startRecur adds a recur-task replica to the consumer group.
func (s *system) startRecur() error {
	p, err := harness.StartProc(filepath.Join(s.bins, "recur-task"), fmt.Sprintf("recur-task-%d", len(s.recur)), s.env, s.dir)
	if err != nil {
		return err
	}
	s.recur = append(s.recur, p)
	return nil
}

func (s *system) close() {
	for _, p := range s.recur {
		p.Stop()
	}
	for _, p := range s.api {
		p.Stop()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.kafka != nil {
		s.kafka.Stop()
	}
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.pg != nil {
		s.pg.Stop()
	}
	if s.traces != nil {
		_ = s.traces.Close()
	}
	if !s.keepLogs {
		_ = os.RemoveAll(s.dir)
	}
}

// report logs a line for docs/reliability.md.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("REPORT %s: "+format, append([]any{t.Name()}, args...)...)
	t.Log(line)
	if f := os.Getenv("E2E_REPORT"); f != "" {
		if fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			_, _ = fh.WriteString(strings.TrimSpace(line) + "\n")
			fh.Close()
		}
	}
}
