package main

import (
	_ "embed"
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
	Started     time.Time         `json:"started"`
	Took        string            `json:"took"`
	Machine     map[string]string `json:"machine"`
	Create      []createResult    `json:"create_task"`
	Lag         []lagRun          `json:"outbox_lag"`
	Producer    float64           `json:"bare_producer_records_per_s"`
	Relay       float64           `json:"relay_events_per_s_from_backlog"`
	RelayDB     float64           `json:"relay_database_share_events_per_s"`
	RelayBroker float64           `json:"relay_broker_share_events_per_s"`
	RelayDecode float64           `json:"relay_decoding_events_per_s"`
	Occurrence  occurrenceResult  `json:"next_occurrence"`
	// OccurrencePolling is scenario 3 again with the polling relay.
	OccurrencePolling *occurrenceResult `json:"next_occurrence_polling,omitempty"`
	Drain             *drainResult      `json:"backlog_drain,omitempty"`
	Reminders         *reminderResult   `json:"reminders,omitempty"`
	Footprint         footprintResult   `json:"footprint"`
	Tracing           *tracingResult    `json:"tracing,omitempty"`
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
	w("Measured by `make bench` (`dev/bench`) on %s: %s cores, %s, %s; %s; the real Kafka broker of the end-to-end tier, a\n",
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
	w("| figure | ours | baseline | ratio | target |\n|---|---|---|---|---|\n")
	w("| relay, from a backlog of %d events committed at once (streamed from the log, up to 5000 sent at once, as stored, nothing written per event) | %.0f events/s | bare producer %.0f records/s | %.2f | ≥ 0.5: %s |\n",
		relayBacklog, r.Relay, r.Producer, r.Relay/r.Producer, verdict(r.Relay/r.Producer >= 0.5))
	w("| PostgreSQL's logical decoding of the same backlog alone (pgoutput, the outbox's publication, read by SQL; no network, no broker) | %.0f events/s | bare producer | %.2f | |\n",
		r.RelayDecode, r.RelayDecode/r.Producer)
	w("| for comparison, the polling relay's database work alone, same backlog (read 500, decode, mark; no broker) | %.0f events/s | bare producer | %.2f | |\n",
		r.RelayDB, r.RelayDB/r.Producer)
	w("| the relay's broker work alone, same records (batches of 500, each after the previous ack; no database) | %.0f events/s | bare producer | %.2f | |\n",
		r.RelayBroker, r.RelayBroker/r.Producer)
	w("\n")
	w("| clients | created/s (the load) | lag p50 / p99 ms | backlog when the load stops | emptied in | targets |\n|---|---|---|---|---|---|\n")
	for i, l := range r.Lag {
		target := ""
		if l.Clients == 32 || l.Clients == 64 {
			// Against scenario 3's bare round trip, under the 32-client load.
			target = fmt.Sprintf("p99 ≤ 3 × bare round trip (%.1f ms): %s", r.Occurrence.BaseP99ms, verdict(l.P99ms <= 3*r.Occurrence.BaseP99ms))
		}
		if l.Clients == 32 {
			target += fmt.Sprintf("; empty within 1 s: %s", verdict(l.DrainMs < 1000))
		}
		w("| %d | %.0f | %.1f / %.1f | %d | %.0f ms | %s |\n", l.Clients, r.Create[i].Ours.Rate, l.P50ms, l.P99ms,
			l.BacklogAtEnd, l.DrainMs, target)
	}
	o := r.Occurrence
	w("\n## 3. Completion → next occurrence\n\n%d recurring tasks of %d users completed through complete-task at %d/s while create-task\n",
		o.Completions, occUsers, o.RatePerS)
	w("serves %d clients; from complete-task's answer (the completion committed) to a consumer's receipt of recur-task's event\n", o.Background)
	w("announcing the next occurrence (committed): two trips through the outbox and the broker and recur-task's transaction.\n")
	w("Baselines, at the same rate under the same background load: the design's floor, a bare pipeline doing the same two\n")
	w("hops (produce → consume → one pgx transaction writing what recur-task writes → produce → consume; sarama, sync,\n")
	w("idempotent, `acks=all`), and a bare single produce → consume round trip on the same broker.\n\n")
	w("| figure | ours | bare pipeline | ratio | bare round trip | target |\n|---|---|---|---|---|---|\n")
	w("| p50 | %.1f ms | %.1f ms | %.2f | %.1f ms | ≤ 2 × pipeline: %s |\n", o.P50ms, o.PipeP50ms, o.P50ms/o.PipeP50ms, o.BaseP50ms,
		verdict(o.P50ms <= 2*o.PipeP50ms))
	w("| p95 | %.1f ms | %.1f ms | %.2f | %.1f ms | |\n", o.P95ms, o.PipeP95ms, o.P95ms/o.PipeP95ms, o.BaseP95ms)
	w("| p99 | %.1f ms | %.1f ms | %.2f | %.1f ms | ≤ 2 × pipeline: %s |\n", o.P99ms, o.PipeP99ms, o.P99ms/o.PipeP99ms, o.BaseP99ms,
		verdict(o.P99ms <= 2*o.PipeP99ms))
	w("| next occurrences missing after 60 s | %d | | | | 0: %s |\n\n", o.Missing, verdict(o.Missing == 0))
	if p := r.OccurrencePolling; p != nil {
		w("The same, in the same run, with the functions restarted with `OUTBOX_STREAM=off` (the relay polling the table):\n")
		w("p50 / p95 / p99 **%.1f / %.1f / %.1f ms** (%.2f / %.2f / %.2f × the stream), %d missing; legs p50 / p99 %.1f / %.1f and\n",
			p.P50ms, p.P95ms, p.P99ms, p.P50ms/o.P50ms, p.P95ms/o.P95ms, p.P99ms/o.P99ms, p.Missing, p.FirstLegP50ms, p.FirstLegP99ms)
		w("%.1f / %.1f ms.\n\n", p.SecondLegP50ms, p.SecondLegP99ms)
	}
	w("The two legs (p50 / p99): complete-task's answer → its `task.completed` event read from the broker (the first\n")
	w("outbox trip) **%.1f / %.1f ms**; that → recur-task's `task.created` event read (the consumer, recur-task's\n", o.FirstLegP50ms, o.FirstLegP99ms)
	w("transaction, the second trip) **%.1f / %.1f ms**. Meanwhile the relay (`todo_outbox_pass_duration_seconds`)\n", o.SecondLegP50ms, o.SecondLegP99ms)
	w("sent %d batches (the transactions that had arrived from the log together): mean %.1f ms from the first send to the\n",
		o.Relay.Passes, o.Relay.MeanMs)
	w("last ack, p50 ≤ %.0f ms, p99 ≤ %.0f ms (histogram bounds), %.1f events each.\n", o.Relay.P50Ms, o.Relay.P99Ms, o.Relay.RowsPerPass)
	if d := r.Drain; d != nil {
		w("\n## 4. Backlog drain\n\n%d `task.completed` events of %d users wait on `task-events` while recur-task is stopped;\n",
			d.Events, backlogUsers)
		w("then one, and in a second run two, recur-task replicas (one consumer group) start and create every next occurrence;\n")
		w("timed from the first occurrence stored to the last. Baselines: a bare consumer group reading (and marking) as many\n")
		w("records of the same size; pgx writing what recur-task writes for them (the processed event, the occurrence, its\n")
		w("outbox row, the parent's stamp) in transactions of %d, with no broker and no logic.\n\n", drainBatch)
		w("| figure | events/s | / bare consumer group | / pgx batches | target |\n|---|---|---|---|---|\n")
		for _, run := range d.Replicas {
			target := ""
			if run.Replicas == 1 {
				target = "≥ 0.5 × bare group: " + verdict(run.Rate/d.BareGroup >= 0.5)
			}
			w("| recur-task × %d (first occurrence %.0f ms after start) | %.0f | %.3f | %.2f | %s |\n", run.Replicas, run.FirstInMs,
				run.Rate, run.Rate/d.BareGroup, run.Rate/d.PgxBatches, target)
		}
		w("| bare consumer group | %.0f | 1 | | |\n| pgx batches | %.0f | %.3f | 1 | |\n", d.BareGroup, d.PgxBatches, d.PgxBatches/d.BareGroup)
	}
	f := r.Footprint
	w("\n## 5. Start-up and footprint\n\n| figure | %s | target |\n|---|---|---|\n", f.Function)
	w("| exec → ready (median of %d) | %.1f ms | < 100 ms: %s |\n", f.StartsMeasure, f.ReadyMs, verdict(f.ReadyMs < 100))
	w("| resident memory, idle | %.1f MB | < 30 MB: %s |\n", f.IdleRSSMB, verdict(f.IdleRSSMB < 30))
	w("| resident memory after scenario 1 | %.1f MB | |\n", f.LoadedRSSMB)
	w("| binary (static, stripped) | %.1f MB | |\n", f.BinaryMB)
	if m := r.Reminders; m != nil {
		w("\n## 6. Reminders\n\n%d open tasks of %d users, one reminder each, written in one statement; recur-task's scheduler\n",
			m.Reminders, reminderUsers)
		w("(sleeping until the next `remind_at`, woken by `NOTIFY`) marks each sent and writes its event to the outbox in the\n")
		w("same transaction, %d at a time. First due evenly over %s: how late each was marked sent; then all due at once:\n",
			reminderBatch, reminderWindow)
		w("the rate from their commit to the last one sent, against pgx doing the same work (take %d due rows, mark them\n", reminderBatch)
		w("sent, queue their events, commit) on as many other rows with no scheduler running.\n\n")
		w("| figure | ours | baseline | ratio |\n|---|---|---|---|\n")
		w("| lateness over the minute, p50 / p99 / max | %.1f / %.1f / %.1f ms | | |\n", m.SpreadP50ms, m.SpreadP99ms, m.SpreadMaxms)
		w("| all due at once | %.0f fired/s | pgx %.0f fired/s | %.2f |\n", m.Backlog, m.PgxBacklog, m.Backlog/m.PgxBacklog)
		w("| reminders not sent exactly once | %d | | 0: %s |\n", m.NotOnce, verdict(m.NotOnce == 0))
	}
	if t := r.Tracing; t != nil {
		w("\n## 7. Tracing\n\ncreate-task at %d clients with tracing off (no `OTEL_EXPORTER_OTLP_ENDPOINT`, the default) and on\n", t.Clients)
		w("(every span exported by OTLP/HTTP to a receiver in the bench), alternating, the functions restarted between;\n")
		w("%.1f spans arrived per traced request (the request, the event's creation, the relay's send; recur-task's and\n", t.SpansPerRequest)
		w("live-updates' are not in this scenario). Off is scenario 1's configuration: its ratio to plain pgx is above.\n\n")
		w("| figure | off | on | on / off |\n|---|---|---|---|\n")
		w("| requests/s | %.0f | %.0f | %.2f |\n", t.Off.Rate, t.On.Rate, t.Ratio)
		w("| p50 / p99 ms | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f |\n", t.Off.P50ms, t.Off.P99ms, t.On.P50ms, t.On.P99ms,
			t.On.P50ms/t.Off.P50ms, t.On.P99ms/t.Off.P99ms)
	}
	w("%s", notes)
	return b.String()
}

// notes are what the profiles showed and what changed, with the figures
// they rest on (notes.md, kept by hand beside the generated tables).
//
//go:embed notes.md
var notes string

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}
