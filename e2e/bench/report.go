package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// createResult is scenario 1 at one concurrency.
type createResult struct {
	Clients  int     `json:"clients"`
	Ours     run     `json:"ours"`
	Baseline run     `json:"baseline_pgx"`
	Ratio    float64 `json:"ratio"`
}

// report is everything measured, as written to benchmarks.json.
type report struct {
	Started    time.Time         `json:"started"`
	Took       string            `json:"took"`
	Machine    map[string]string `json:"machine"`
	Create     []createResult    `json:"create_task"`
	Lag        []lagRun          `json:"outbox_lag"`
	Producer   float64           `json:"bare_producer_records_per_s"`
	Relay      float64           `json:"relay_events_per_s_from_backlog"`
	Occurrence occurrenceResult  `json:"next_occurrence"`
	Footprint  footprintResult   `json:"footprint"`
}

// repoRoot is the repository's root directory.
func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

func (r *report) write(base string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := r.chart(base + ".png"); err != nil {
		return err
	}
	return os.WriteFile(base+".md", []byte(r.markdown(filepath.Base(base))), 0o644)
}

// chart draws create-task's requests per second and p99 latency against
// the clients, ours and the baseline.
func (r *report) chart(path string) error {
	p := plot.New()
	p.Title.Text = "create-task: p99 latency (ms) by clients"
	p.X.Label.Text = "clients"
	p.Y.Label.Text = "p99 ms"
	ours, base := make(plotter.XYs, len(r.Create)), make(plotter.XYs, len(r.Create))
	for i, c := range r.Create {
		ours[i] = plotter.XY{X: float64(c.Clients), Y: c.Ours.P99ms}
		base[i] = plotter.XY{X: float64(c.Clients), Y: c.Baseline.P99ms}
	}
	if err := plotutil.AddLinePoints(p, "create-task over HTTP", ours, "plain pgx (baseline)", base); err != nil {
		return err
	}
	return p.Save(6*vg.Inch, 3.5*vg.Inch, path)
}

func (r *report) markdown(base string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("Measured by `make bench` (`e2e/bench`) on %s: %s cores, %s, %s; %s; the real Kafka broker of the end-to-end tier, a\n",
		r.Started.Format("2006-01-02"), r.Machine["cores"], r.Machine["cpu"], r.Machine["memory"], r.Machine["go"])
	w("local PostgreSQL cluster, the function binaries. Each figure is the median of the runs; every baseline ran in the\n")
	w("same run, alternating with ours. Ratios are ours / baseline (higher is better for rates, lower for latencies).\n")
	w("The whole run took %s. Raw figures: [`%s.json`](%s.json).\n\n", r.Took, base, base)
	w("## 1. create-task\n\nRequests per second and latency over HTTP (authentication, validation, the task and its outbox row in\n")
	w("one transaction), against plain pgx writing the same rows in one transaction with the same pool (%d connections).\n\n", poolSize)
	w("| clients | ours req/s | pgx req/s | ratio | ours p50 / p99 ms | pgx p50 / p99 ms | target |\n|---|---|---|---|---|---|---|\n")
	for _, c := range r.Create {
		target := ""
		if c.Clients == 32 {
			target = "≥ 0.9: " + verdict(c.Ratio >= 0.9)
		}
		w("| %d | %.0f | %.0f | %.2f | %.1f / %.1f | %.1f / %.1f | %s |\n", c.Clients, c.Ours.Rate, c.Baseline.Rate, c.Ratio,
			c.Ours.P50ms, c.Ours.P99ms, c.Baseline.P50ms, c.Baseline.P99ms, target)
	}
	w("\n![create-task p99 latency by clients](%s.png)\n\n", base)
	w("## 2. The outbox under that load\n\nFrom an event's creation in the writing transaction to its arrival at a consumer of `task-events`\n")
	w("(the relay's batches, the broker's ack, the consumer's fetch), while scenario 1 runs; then the rows still unpublished\n")
	w("when the load stops, and how long they took to leave. Baseline: a bare sarama producer (async, idempotent,\n")
	w("`acks=all`) sending records of an event's size as fast as it can.\n\n")
	w("| figure | ours | bare producer | ratio | target |\n|---|---|---|---|---|\n")
	w("| relay, from a backlog of 20,000 events (batches of 500, one `UPDATE` each) | %.0f events/s | %.0f records/s | %.2f | ≥ 0.5: %s |\n\n",
		r.Relay, r.Producer, r.Relay/r.Producer, verdict(r.Relay/r.Producer >= 0.5))
	w("| clients | created/s (the load) | lag p50 / p99 ms | backlog when the load stops | emptied in | targets |\n|---|---|---|---|---|---|\n")
	for i, l := range r.Lag {
		target := ""
		if l.Clients == 32 {
			target = fmt.Sprintf("p99 < 100 ms: %s; empty within 1 s: %s", verdict(l.P99ms < 100), verdict(l.DrainMs < 1000))
		}
		w("| %d | %.0f | %.1f / %.1f | %d | %.0f ms | %s |\n", l.Clients, r.Create[i].Ours.Rate, l.P50ms, l.P99ms,
			l.BacklogAtEnd, l.DrainMs, target)
	}
	o := r.Occurrence
	w("\n## 3. Completion → next occurrence\n\n%d recurring tasks completed through complete-task at %d/s while create-task\n", o.Completions, o.RatePerS)
	w("serves %d clients; from complete-task's answer (the completion committed) to a consumer's receipt of recur-task's event\n", o.Background)
	w("announcing the next occurrence (committed): two trips through the outbox and the broker and recur-task's transaction.\n")
	w("Baseline: a bare produce (sync, idempotent, `acks=all`) → consume round trip on the same broker at the same rate.\n\n")
	w("| figure | ours | bare round trip | target |\n|---|---|---|---|\n")
	w("| p50 | %.1f ms | %.1f ms | |\n| p95 | %.1f ms | %.1f ms | |\n| p99 | %.1f ms | %.1f ms | < 50 ms: %s |\n",
		o.P50ms, o.BaseP50ms, o.P95ms, o.BaseP95ms, o.P99ms, o.BaseP99ms, verdict(o.P99ms < 50))
	w("| next occurrences missing after 60 s | %d | | 0: %s |\n", o.Missing, verdict(o.Missing == 0))
	f := r.Footprint
	w("\n## 5. Start-up and footprint\n\n| figure | %s | target |\n|---|---|---|\n", f.Function)
	w("| exec → ready (median of %d) | %.1f ms | < 100 ms: %s |\n", f.StartsMeasure, f.ReadyMs, verdict(f.ReadyMs < 100))
	w("| resident memory, idle | %.1f MB | < 30 MB: %s |\n", f.IdleRSSMB, verdict(f.IdleRSSMB < 30))
	w("| resident memory after scenario 1 | %.1f MB | |\n", f.LoadedRSSMB)
	w("| binary (static, stripped) | %.1f MB | |\n", f.BinaryMB)
	w("\n## Notes\n\n")
	w("- **The relay, before and after batching.** Before, it published one row per round trip (a synchronous send,\n")
	w("  then one `UPDATE` per row): 250–400 events/s, with 2,000–4,600 events still unpublished after each 10-second\n")
	w("  load run at 8–64 clients, 7–14 s to leave. Now it sends up to 500 rows in one produce round and marks them\n")
	w("  with one `UPDATE`: the figures above. The fault tests of the end-to-end tier pass unchanged.\n")
	w("- **create-task's ratio** to plain pgx is what the HTTP request adds (the connection, JSON decoding and\n")
	w("  validation, token verification, the per-user advisory lock before the outbox insert, the response) and what the\n")
	w("  relay running in the same process takes from the same two cores while the load runs. It has not been\n")
	w("  profiled yet, so the target is not met and what limits it is not measured.\n")
	w("- **Completion → next occurrence** crosses the outbox twice (the completion, then the occurrence), each time\n")
	w("  behind the background load's events in the relay's batches, and recur-task's consumer handles each partition\n")
	w("  one record at a time, one transaction per completion; the bare round trip is under 2 ms, so nearly all of\n")
	w("  the time is those queues. Which one dominates is not profiled yet: the target is not met, and every\n")
	w("  completion got its occurrence.\n")
	w("- Scenario 4 (recur-task draining a backlog of 50,000 completions, against a bare consumer group) is not\n")
	w("  measured yet.\n")
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}
