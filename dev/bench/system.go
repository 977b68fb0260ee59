package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/migrations"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// system is the stack under measurement.
type system struct {
	dir, bin string
	pg       *pgcluster.Cluster
	db       *pgxpool.Pool
	kafka    *harness.Kafka
	brokers  []string
	env      map[string]string
	// create-task takes scenario 1's load; complete-task and recur-task
	// (consumer-group mode) run from the start, as in production.
	create, complete, recur *harness.Proc
	// debug is each function's DEBUG_ADDR (its runtime profiles), by name.
	debug map[string]string
	prof  *profiler
}

// poolSize is DB_MAX_CONNS of the functions, and the baseline's pool.
const poolSize = 10

// baselineTopic is where the bare producer of scenario 2's baseline writes
// (created with the others, long before it is used).
const baselineTopic = "bench-baseline"

func startSystem(ctx context.Context, dir string) (*system, error) {
	s := &system{dir: dir, bin: filepath.Join(dir, "bin")}
	var err error
	log("PostgreSQL")
	if s.pg, err = pgcluster.Start(ctx, pgcluster.Options{}); err != nil {
		return nil, err
	}
	url := s.pg.URL("postgres")
	if err := migrations.Up(ctx, url); err != nil {
		return s, err
	}
	if s.db, err = pgxpool.New(ctx, url+"&pool_max_conns="+fmt.Sprint(poolSize)); err != nil {
		return s, err
	}
	log("Kafka")
	if s.kafka, err = harness.NewKafka(filepath.Join(dir, "kafka"), 0); err != nil {
		return s, err
	}
	if err := s.kafka.Start(); err != nil {
		return s, err
	}
	s.brokers = []string{s.kafka.Addr()}
	if err := kafka.EnsureTopics(zerolog.Nop(), s.brokers, 3, append(events.Topics, baselineTopic)...); err != nil {
		return s, err
	}
	log("function binaries")
	if err := harness.Build(s.bin); err != nil {
		return s, err
	}
	s.env = map[string]string{"DATABASE_URL": url, "AUTH_JWT_SECRET": testkit.Secret, "KAFKA_BROKERS": s.brokers[0],
		"LOG_LEVEL": "warn", "RATE_LIMIT_PER_USER": "0", "DB_MAX_CONNS": fmt.Sprint(poolSize)}
	return s, s.startFunctions(nil)
}

// startFunctions (re)starts create-task, complete-task and recur-task with
// the system's environment and extra.
func (s *system) startFunctions(extra map[string]string) error {
	s.debug = map[string]string{}
	for _, p := range []struct {
		name string
		proc **harness.Proc
	}{{"create-task", &s.create}, {"complete-task", &s.complete}, {"recur-task", &s.recur}} {
		if *p.proc != nil {
			(*p.proc).Stop()
		}
		var err error
		if *p.proc, s.debug[p.name], err = s.start(p.name, p.name, extra); err != nil {
			return err
		}
	}
	return nil
}

// start runs the function binary name as label with the system's
// environment and extra, its runtime profiles on a free loopback port, and
// returns it with that port's address.
func (s *system) start(name, label string, extra map[string]string) (*harness.Proc, string, error) {
	port, err := pgcluster.FreePort()
	if err != nil {
		return nil, "", err
	}
	env := maps.Clone(s.env)
	maps.Copy(env, extra)
	env["DEBUG_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	p, err := harness.StartProc(filepath.Join(s.bin, name), label, env, s.dir)
	return p, env["DEBUG_ADDR"], err
}

func (s *system) stop() {
	for _, p := range []*harness.Proc{s.create, s.complete, s.recur} {
		if p != nil {
			p.Stop()
		}
	}
	if s.kafka != nil {
		s.kafka.Stop()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.pg != nil {
		s.pg.Stop()
	}
}

// machine describes where the figures were measured.
func machine() map[string]string {
	m := map[string]string{"cores": fmt.Sprint(runtime.NumCPU()), "os": runtime.GOOS + "/" + runtime.GOARCH, "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		m["memory"] = strings.Join(strings.Fields(first)[1:], " ")
	}
	if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		m["java"] = first
	}
	return m
}
