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
//     sustained rate (async, idempotent, acks=all);
//  3. completion → next occurrence: 2,000 completions at 100/s while
//     create-task serves 32 clients, against a bare produce → consume round
//     trip on the same broker;
//  5. a function's start (exec to ready, median of 20), its resident memory
//     idle and after the load, and its binary's size (stripped, static).
//
// It writes <out>/benchmarks.md, benchmarks.json and benchmarks.png.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	out := flag.String("out", "docs", "directory for benchmarks.md, .json and .png")
	duration := flag.Duration("duration", 4*time.Second, "length of each load run")
	rounds := flag.Int("rounds", 3, "runs of each figure (the median is reported)")
	flag.Parse()
	ctx := context.Background()
	if err := measure(ctx, *out, *duration, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func measure(ctx context.Context, out string, duration time.Duration, rounds int) error {
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
	rep := &report{Machine: machine(), Started: start.UTC()}
	log("create-task and the outbox under load")
	if err := createLoad(ctx, sys, rep, duration, rounds); err != nil {
		return err
	}
	log("the relay's ceiling and a bare producer's sustained rate")
	if err := relayCeiling(ctx, sys, rep); err != nil {
		return err
	}
	if err := producerBaseline(ctx, sys, rep, rounds); err != nil {
		return err
	}
	log("completion → next occurrence under load")
	if err := nextOccurrence(ctx, sys, rep); err != nil {
		return err
	}
	log("start-up and footprint")
	if err := footprint(ctx, sys, rep); err != nil {
		return err
	}
	rep.Took = time.Since(start).Round(time.Second).String()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return rep.write(filepath.Join(out, "benchmarks"))
}

func log(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
