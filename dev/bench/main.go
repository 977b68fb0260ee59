// Command bench measures the system on the real stack (make bench): a
// PostgreSQL cluster, the real Kafka broker of the end-to-end tier and the
// function binaries. Each figure of ours is set beside a baseline measured
// in the same run, alternating with ours, and reported as a ratio:
//
//  1. create-task over HTTP at 1, 8, 32 and 64 clients (requests/s,
//     p50/p99) against plain pgx writing the same task and outbox rows in
//     one transaction with the same pool size;
//  2. the outbox's lag under that load (creation to a consumer, p50/p99,
//     and the backlog left when the load stops), and the relay's own rate
//     on a backlog of 20,000 events, against a bare sarama producer's
//     sustained rate (async, idempotent, acks=all) and the relay's
//     database work alone;
//  3. completion → next occurrence: 2,000 completions of 100 users at
//     100/s while create-task serves 32 clients, against a bare produce →
//     consume round trip on the same broker under the same load;
//  4. recur-task draining 50,000 waiting completions with one and two
//     replicas, against a bare consumer group and pgx writing the same rows
//     in batches;
//  5. a function's start (exec to ready, median of 20), its resident memory
//     idle and after the load, and its binary's size (stripped, static);
//  6. 100,000 reminders due within one minute, fired by recur-task's
//     scheduler (lateness p50/p99), then as many due at once (fired/s)
//     against pgx doing the same work on as many rows;
//  7. create-task at 32 clients with tracing off and on (every span
//     exported by OTLP/HTTP to a receiver in the bench), alternating.
//
// It writes <out>/benchmarks.md, benchmarks.json and benchmarks.png;
// -scenarios picks some, -profile DIR takes CPU profiles of the functions
// (through their DEBUG_ADDR) while scenarios 1 to 4 run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "docs", "directory for benchmarks.md, .json and .png")
	duration := flag.Duration("duration", 4*time.Second, "length of each load run")
	rounds := flag.Int("rounds", 3, "runs of each figure (the median is reported)")
	only := flag.String("scenarios", "1,2,3,4,5,6,7", "the scenarios to run, comma-separated (the report shows only those)")
	profiles := flag.String("profile", "", "directory for CPU profiles of the functions during scenarios 1 (32 clients), 2 (the relay), 3 and 4")
	flag.Parse()
	ctx := context.Background()
	if err := measure(ctx, options{out: *out, duration: *duration, rounds: *rounds,
		scenarios: strings.Split(*only, ","), profiles: *profiles}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	out       string
	duration  time.Duration
	rounds    int
	scenarios []string
	profiles  string
}

func measure(ctx context.Context, o options) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sys, err := startSystem(ctx, dir)
	if err != nil {
		return err
	}
	defer sys.stop()
	sys.prof = &profiler{dir: o.profiles, sys: sys}
	rep := &report{Machine: machine(), Started: start.UTC()}
	steps := []struct {
		scenario, title string
		run             func() error
	}{
		{"1", "create-task and the outbox under load", func() error { return createLoad(ctx, sys, rep, o.duration, o.rounds) }},
		{"2", "the relay's ceiling and a bare producer's sustained rate", func() error {
			if err := relayCeiling(ctx, sys, rep); err != nil {
				return err
			}
			return producerBaseline(ctx, sys, rep, o.rounds)
		}},
		{"3", "completion → next occurrence under load", func() error { return nextOccurrence(ctx, sys, rep) }},
		{"4", "recur-task draining a backlog", func() error { return backlogDrain(ctx, sys, rep) }},
		{"5", "start-up and footprint", func() error { return footprint(ctx, sys, rep) }},
		{"6", "reminders due", func() error { return remindersDue(ctx, sys, rep) }},
		{"7", "tracing off and on", func() error { return tracingCost(ctx, sys, rep, o.duration, o.rounds) }},
	}
	for _, step := range steps {
		if !slices.Contains(o.scenarios, step.scenario) {
			continue
		}
		log("%s", step.title)
		if err := step.run(); err != nil {
			return fmt.Errorf("scenario %s: %w", step.scenario, err)
		}
	}
	rep.Took = time.Since(start).Round(time.Second).String()
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	return rep.write(filepath.Join(o.out, "benchmarks"))
}

func log(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
