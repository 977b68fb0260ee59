package e2e_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/dev/harness"
)

// TestSoak runs the cluster tier under steady creates and completions for
// SOAK (a duration, e.g. 30m; make soak sets it; skipped without it), with
// a rolling SIGTERM restart of every function halfway, and reports what
// grew from the end of the first minute to the end: every function's
// resident memory, Go heap and goroutines, and the database's tables and
// write-ahead log. SOAK_REPORT names the Markdown file the report goes to.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SOAK"))
	if err != nil || d < 2*time.Minute {
		t.Skip("SOAK is not a duration of at least 2m (make soak sets it)")
	}
	s := startScaled(t)
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	a := s.load(ctx, 4, 3)
	began := time.Now()

	time.Sleep(time.Minute)
	before := s.sample(t)
	time.Sleep(d/2 - time.Minute)
	lastOld := s.sample(t)
	for _, fn := range []string{"create-task", "complete-task", "recur-task"} {
		s.rolling(t, fn)
	}
	// The replicas started by the restart are measured from a minute after
	// it, like the first ones.
	time.Sleep(time.Minute)
	restarted := s.sample(t)
	time.Sleep(time.Until(began.Add(d)))
	after := s.sample(t)
	stopLoad()
	<-a.finished

	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failures) > 0 || s.fivexx.Load() != 0 || len(s.stopped) > 0 {
		t.Fatalf("%d failed requests (e.g. %v), %d 5xx other than 503, graceful-stop failures %v",
			len(a.failures), a.failures[:min(1, len(a.failures))], s.fivexx.Load(), s.stopped)
	}
	parents := make([]string, 0, len(a.completed))
	for id := range a.completed {
		parents = append(parents, id)
	}
	var have, doubled int
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := s.db.QueryRow(context.Background(), `SELECT count(DISTINCT parent_task_id), count(*) - count(DISTINCT parent_task_id)
			FROM tasks WHERE parent_task_id = ANY($1)`, parents).Scan(&have, &doubled); err != nil {
			t.Fatal(err)
		}
		if doubled != 0 {
			t.Fatalf("%d duplicate next occurrences", doubled)
		}
		if have == len(parents) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if have != len(parents) {
		t.Fatalf("%d of %d completions have their next occurrence", have, len(parents))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Soak\n\nThe last `make soak` (SOAK=%v), run %s:\n\n", d, began.UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "- %d creates and %d completions of daily tasks from 12 users, each with its one next occurrence.\n", len(a.created), len(a.completed))
	fmt.Fprintf(&b, "- Every function restarted with SIGTERM halfway, each exiting by itself with status 0.\n")
	fmt.Fprintf(&b, "- No 5xx other than a 503, and %d requests retried after a 503 or a refused connection.\n\n", s.retried.Load())
	b.WriteString("Growth of each process, from a minute after it started to the end (the first replicas until the restart, the second ones until the end):\n\n")
	b.WriteString("| process | resident memory | Go heap in use | goroutines |\n|---|---|---|---|\n")
	growth(&b, before, lastOld)
	growth(&b, restarted, after)
	fmt.Fprintf(&b, "\nThe database, from the end of the first minute to the end:\n\n| | before | after |\n|---|---|---|\n")
	for _, k := range []string{"tasks", "outbox", "processed_events", "idempotency_keys"} {
		fmt.Fprintf(&b, "| table `%s` | %s | %s |\n", k, mib(before.db[k]), mib(after.db[k]))
	}
	fmt.Fprintf(&b, "| write-ahead log written | | %s |\n", mib(after.db["wal"]-before.db["wal"]))
	b.WriteString("\nThe tables grow with the tasks themselves, and the other three with the events and requests until\n" +
		"their retention, longer than a soak: published outbox rows for `OUTBOX_RETENTION` (24 h), processed event ids\n" +
		"for `PROCESSED_EVENTS_RETENTION` (7 days), idempotency keys for a day. Past that they stay level.\n")
	t.Log("\n" + b.String())
	if f := os.Getenv("SOAK_REPORT"); f != "" {
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sampled is what one sample saw: per process label its resident memory,
// heap in use and goroutines; per table its size, and "wal" the log's
// position, in bytes.
type sampled struct {
	procs map[string][3]float64
	db    map[string]float64
}

func (s *scaled) sample(t *testing.T) sampled {
	t.Helper()
	out := sampled{procs: map[string][3]float64{}, db: map[string]float64{}}
	s.mu.Lock()
	var procs []*harness.Proc
	for _, ps := range s.procs {
		procs = append(procs, ps...)
	}
	s.mu.Unlock()
	for _, p := range procs {
		var v [3]float64
		for _, m := range metricLine.FindAllStringSubmatch(scrape(t, p), -1) {
			for i, name := range []string{"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines"} {
				if m[1] == name {
					v[i], _ = strconv.ParseFloat(m[2], 64)
				}
			}
		}
		out.procs[p.Label] = v
	}
	for _, table := range []string{"tasks", "outbox", "processed_events", "idempotency_keys"} {
		var n float64
		if err := s.db.QueryRow(context.Background(), `SELECT pg_total_relation_size($1::regclass)`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out.db[table] = n
	}
	var wal float64
	if err := s.db.QueryRow(context.Background(), `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn`).Scan(&wal); err != nil {
		t.Fatal(err)
	}
	out.db["wal"] = wal
	return out
}

// growth writes a row per process seen in both samples.
func growth(b *strings.Builder, from, to sampled) {
	var labels []string
	for l := range to.procs {
		if _, ok := from.procs[l]; ok {
			labels = append(labels, l)
		}
	}
	sort.Strings(labels)
	for _, l := range labels {
		f, e := from.procs[l], to.procs[l]
		fmt.Fprintf(b, "| %s | %s → %s | %s → %s | %.0f → %.0f |\n", l, mib(f[0]), mib(e[0]), mib(f[1]), mib(e[1]), f[2], e[2])
	}
}

func mib(n float64) string { return fmt.Sprintf("%.1f MiB", n/(1<<20)) }
