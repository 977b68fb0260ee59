package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// Clients are the concurrency levels of scenario 1; the first run at
// profiledClients is profiled (-profile).
var Clients = []int{1, 8, 32, 64}

const profiledClients = 32

// run is one load run's outcome.
type run struct {
	Rate     float64       `json:"requests_per_s"`
	P50, P99 time.Duration `json:"-"`
	P50ms    float64       `json:"p50_ms"`
	P99ms    float64       `json:"p99_ms"`
	Errors   int64         `json:"errors"`
}

// load runs op from clients goroutines for d and measures it.
func load(clients int, d time.Duration, op func(client int) error) run {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := op(c); err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	r := run{Rate: float64(len(lat)) / d.Seconds(), P50: quantile(lat, .5), P99: quantile(lat, .99), Errors: errs.Load()}
	r.P50ms, r.P99ms = ms(r.P50), ms(r.P99)
	return r
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// median is the run with the median rate.
func median(runs []run) run {
	sort.Slice(runs, func(i, j int) bool { return runs[i].Rate < runs[j].Rate })
	return runs[len(runs)/2]
}

// createLoad is scenarios 1 and 2: create-task over HTTP, alternating
// with plain pgx, and the outbox's lag and backlog while and after it runs.
func createLoad(ctx context.Context, s *system, rep *report, d time.Duration, rounds int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	lag := newLagMeter(s.brokers)
	if err := lag.start(ctx); err != nil {
		return err
	}
	defer lag.stop()
	for _, n := range Clients {
		users, ours := creates(s, client, n)
		baseline := func(c int) error { return plainWrite(ctx, s, users[c]) }
		var oursRuns, baseRuns []run
		var lags []lagRun
		for round := range rounds {
			if err := lag.reset(ctx, s); err != nil {
				return err
			}
			if round == 0 && n == profiledClients {
				s.prof.start(ctx, fmt.Sprintf("create-%d", n), d)
			}
			oursRuns = append(oursRuns, load(n, d, ours))
			s.prof.wait()
			lags = append(lags, drain(ctx, s, lag))
			baseRuns = append(baseRuns, load(n, d, baseline))
			_ = drain(ctx, s, lag) // the baseline's rows are published too; not measured
		}
		o, b := median(oursRuns), median(baseRuns)
		rep.Create = append(rep.Create, createResult{Clients: n, Ours: o, Baseline: b, Ratio: o.Rate / b.Rate})
		rep.Lag = append(rep.Lag, medianLag(lags, n))
		log("  %2d clients: %6.0f/s (p99 %5.1f ms) vs pgx %6.0f/s (p99 %5.1f ms); outbox lag p99 %.1f ms, backlog %d",
			n, o.Rate, o.P99ms, b.Rate, b.P99ms, rep.Lag[len(rep.Lag)-1].P99ms, rep.Lag[len(rep.Lag)-1].BacklogAtEnd)
	}
	return nil
}

// creates is scenario 1's request for n clients, each its own user: a
// recurring task created through create-task; and the users.
func creates(s *system, client *http.Client, n int) ([]string, func(c int) error) {
	body := []byte(`{"title":"Water the plants","priority":"high","tags":["home"],"recurring_type":"daily","timezone":"Europe/Berlin"}`)
	users := make([]string, n)
	tokens := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("bench-%d-%d-%s", n, i, uuid.NewString()[:8])
		tokens[i], _ = testkit.SignToken([]byte(testkit.Secret), users[i], time.Now(), time.Hour)
	}
	return users, func(c int) error {
		req, _ := http.NewRequest("POST", s.create.URL()+"/api/"+users[c]+"/tasks", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[c])
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// plainWrite is the baseline: the same task row and outbox row in one
// transaction, straight through pgx.
func plainWrite(ctx context.Context, s *system, user string) error {
	now := time.Now().UTC()
	title, prio, tz, rec := "Water the plants", task.Priority("high"), "Europe/Berlin", "daily"
	t, err := task.Draft{Title: &title, Priority: &prio, Timezone: &tz, RecurringType: &rec, Tags: []string{"home"}}.
		Build(uuid.NewString(), user, now)
	if err != nil {
		return err
	}
	e, err := events.ForTask(events.TypeTaskCreated, "create-task", t, now)
	if err != nil {
		return err
	}
	evt, _ := e.MarshalJSON()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	if err := insertTask(ctx, tx, t); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, partition_key, event) VALUES ($1, $2, $3, $4)`,
		e.ID(), events.TopicTaskEvents, user, evt); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// taskColumns are the columns of a task row, in taskRow's order.
var taskColumns = []string{"id", "user_id", "title", "description", "status", "priority", "tags", "due_date",
	"timezone", "recurring_type", "recurrence_basis", "recurring_end_date", "series_anchor", "parent_task_id",
	"completed_at", "created_at", "updated_at"}

// taskRow is t as the values of taskColumns, as the store writes them.
func taskRow(t task.Task) []any {
	return []any{t.ID, t.UserID, t.Title, t.Description, string(t.Status), string(t.Priority), t.Tags, t.DueDate,
		t.Timezone, string(t.RecurringType), string(t.RecurrenceBasis), t.RecurringEndDate, t.SeriesAnchor,
		t.ParentTaskID, t.CompletedAt, t.CreatedAt, t.UpdatedAt}
}

// insertTask writes t's row through db.
func insertTask(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, t task.Task) error {
	_, err := db.Exec(ctx, `INSERT INTO tasks (`+strings.Join(taskColumns, ", ")+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`, taskRow(t)...)
	return err
}

// lagMeter reads task-events and records, for each event, the time from
// its creation (the CloudEvent's time, set in the writing transaction) to
// its arrival at a consumer: the relay's and the broker's delay together.
type lagMeter struct {
	brokers []string
	mu      sync.Mutex
	lags    []time.Duration
	// arrived counts every event read; since the last reset, the outbox's
	// rows after seq from and arrived-base of them were read.
	arrived, base, from int64
	cancel              func()
}

func newLagMeter(brokers []string) *lagMeter { return &lagMeter{brokers: brokers} }

func (l *lagMeter) start(ctx context.Context) error {
	stop, err := watchEvents(ctx, l.brokers, "bench-lag", func(e *cloudevents.Event) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.arrived++
		if e.Source() == "/functions/create-task" && len(e.Subject()) > 0 {
			l.lags = append(l.lags, time.Since(e.Time()))
		}
	})
	l.cancel = stop
	return err
}

// watchEvents reads every partition of task-events from its end and calls
// fn with each CloudEvent, until stop.
func watchEvents(ctx context.Context, brokers []string, clientID string, fn func(*cloudevents.Event)) (stop func(), err error) {
	consumer, err := sarama.NewConsumer(brokers, kafka.Config(clientID))
	if err != nil {
		return nil, err
	}
	parts, err := consumer.Partitions(events.TopicTaskEvents)
	if err != nil {
		consumer.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(events.TopicTaskEvents, p, sarama.OffsetNewest)
		if err != nil {
			cancel()
			consumer.Close()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.Close()
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-pc.Messages():
					if e, err := kafka.DecodeRecord(ctx, kafka.RecordOf(m)); err == nil {
						fn(e)
					}
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait(); consumer.Close() }, nil
}

func (l *lagMeter) stop() { l.cancel() }

// reset forgets the lags measured, and counts the outbox's rows and the
// events read from here on.
func (l *lagMeter) reset(ctx context.Context, s *system) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lags, l.base = nil, l.arrived
	return s.db.QueryRow(ctx, `SELECT COALESCE(max(seq), 0) FROM outbox`).Scan(&l.from)
}

// waiting is how many of the outbox's rows since the last reset have not
// been read from the topic yet. The streaming relay stamps no row
// published, so the topic, not the table, says what is out.
func (l *lagMeter) waiting(ctx context.Context, s *system) int64 {
	l.mu.Lock()
	from, read := l.from, l.arrived-l.base
	l.mu.Unlock()
	var rows int64
	_ = s.db.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE seq > $1 AND failed_at IS NULL`, from).Scan(&rows)
	return max(rows-read, 0)
}

// lagRun is the outbox's delay during a load run, and what was left when
// the load stopped.
type lagRun struct {
	Clients      int     `json:"clients"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	BacklogAtEnd int64   `json:"backlog_at_end"`
	DrainMs      float64 `json:"drain_ms"`
}

// drain waits for the outbox to empty after a run and reports the lag of
// the run's events.
func drain(ctx context.Context, s *system, l *lagMeter) lagRun {
	var r lagRun
	r.BacklogAtEnd = l.waiting(ctx, s)
	start := time.Now()
	for time.Since(start) < time.Minute && l.waiting(ctx, s) > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	r.DrainMs = ms(time.Since(start))
	time.Sleep(200 * time.Millisecond) // the last records reach the meter
	l.mu.Lock()
	lags := slices.Clone(l.lags)
	l.lags = nil
	l.mu.Unlock()
	slices.Sort(lags)
	r.P50ms, r.P99ms = ms(quantile(lags, .5)), ms(quantile(lags, .99))
	return r
}

func medianLag(runs []lagRun, clients int) lagRun {
	sort.Slice(runs, func(i, j int) bool { return runs[i].P99ms < runs[j].P99ms })
	r := runs[len(runs)/2]
	r.Clients = clients
	return r
}

// relayBacklog is the number of events of the relay's ceiling.
const relayBacklog = 20000

// backlogRows are relayBacklog outbox rows (event_id, topic,
// partition_key, event) of 64 users.
func backlogRows() ([][]any, error) {
	now := time.Now().UTC()
	title := "Water the plants"
	rows := make([][]any, relayBacklog)
	for i := range rows {
		t, err := task.Draft{Title: &title}.Build(uuid.NewString(), fmt.Sprint("ceiling-", i%64), now)
		if err != nil {
			return nil, err
		}
		e, err := events.ForTask(events.TypeTaskCreated, "bench", t, now)
		if err != nil {
			return nil, err
		}
		body, _ := e.MarshalJSON()
		rows[i] = []any{e.ID(), events.TopicTaskEvents, t.UserID, body}
	}
	return rows, nil
}

// relayCeiling is the relay's own sustained rate: a backlog of
// relayBacklog events committed at once, timed until the relay has
// published them all. Then the database's share of that work alone.
func relayCeiling(ctx context.Context, s *system, rep *report) error {
	const n = relayBacklog
	rows, err := backlogRows()
	if err != nil {
		return err
	}
	// A second slot, read only afterwards: PostgreSQL's own decoding of
	// the same backlog, the floor of any relay that streams it.
	decoder, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer decoder.Release()
	if _, err := decoder.Exec(ctx, `SELECT pg_create_logical_replication_slot('bench_decode', 'pgoutput', true)`); err != nil {
		return err
	}
	defer decoder.Exec(context.WithoutCancel(ctx), `SELECT pg_drop_replication_slot('bench_decode')`) //nolint:errcheck // best effort
	before, err := scrapePasses(s.create, s.complete, s.recur)
	if err != nil {
		return err
	}
	if _, err := s.db.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"event_id", "topic", "partition_key", "event"},
		pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	start := time.Now()
	s.prof.start(ctx, "relay", 2*time.Second)
	defer s.prof.wait()
	if _, err := s.db.Exec(ctx, `NOTIFY outbox`); err != nil {
		return err
	}
	for {
		// The relays' own count: a streaming relay stamps no row.
		now, err := scrapePasses(s.create, s.complete, s.recur)
		if err != nil {
			return err
		}
		if now.published-before.published >= n {
			break
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("the relay left %.0f of %d events after 5 minutes", n-(now.published-before.published), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rep.Relay = n / time.Since(start).Seconds()
	log("  relay: %.0f events/s from a backlog of %d", rep.Relay, n)
	decodeStart := time.Now()
	if _, err := decoder.Exec(ctx, `SELECT count(*) FROM pg_logical_slot_get_binary_changes('bench_decode', NULL, NULL,
		'proto_version', '1', 'publication_names', 'todo_outbox')`); err != nil {
		return err
	}
	rep.RelayDecode = n / time.Since(decodeStart).Seconds()
	log("  PostgreSQL decoding the same backlog alone: %.0f events/s", rep.RelayDecode)
	if rep.RelayDB, err = relayDatabaseShare(ctx, s, rows); err != nil {
		return err
	}
	if rep.RelayBroker, err = relayBrokerShare(s, rows); err != nil {
		return err
	}
	log("  the relay's database work alone: %.0f events/s; its broker work alone: %.0f events/s", rep.RelayDB, rep.RelayBroker)
	return nil
}

// relayBrokerShare is what the relay does with the broker for the same
// backlog, with no database: the same records sent in batches of 500, each
// batch once the one before was acknowledged, as the relay sends them (to
// the baseline's topic).
func relayBrokerShare(s *system, rows [][]any) (float64, error) {
	keys, bodies := make([]string, len(rows)), make([][]byte, len(rows))
	for i, r := range rows {
		keys[i], bodies[i] = r[2].(string), r[3].([]byte)
	}
	took, err := sendStructured(s.brokers, baselineTopic, keys, bodies, 500)
	return float64(len(rows)) / took.Seconds(), err
}

// relayDatabaseShare is what the relay does with the database for the
// same backlog, with no broker: read batches of 500 pending rows as the
// relay reads them, decode each event, mark the batch published; on a
// copy of the outbox table with the same indexes, so no relay takes part.
func relayDatabaseShare(ctx context.Context, s *system, rows [][]any) (float64, error) {
	if _, err := s.db.Exec(ctx, `CREATE TABLE bench_outbox (LIKE outbox INCLUDING ALL)`); err != nil {
		return 0, err
	}
	defer s.db.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_outbox`) //nolint:errcheck // best effort
	if _, err := s.db.CopyFrom(ctx, pgx.Identifier{"bench_outbox"}, []string{"event_id", "topic", "partition_key", "event"},
		pgx.CopyFromRows(rows)); err != nil {
		return 0, err
	}
	if _, err := s.db.Exec(ctx, `ANALYZE bench_outbox`); err != nil { // as autovacuum has the outbox
		return 0, err
	}
	start := time.Now()
	for {
		batch, err := s.db.Query(ctx, `SELECT seq, topic, partition_key, event::text FROM bench_outbox
			WHERE published_at IS NULL AND failed_at IS NULL ORDER BY seq LIMIT 500`)
		if err != nil {
			return 0, err
		}
		var seqs []int64
		for batch.Next() {
			var seq int64
			var topic, key string
			var body []byte
			if err := batch.Scan(&seq, &topic, &key, &body); err != nil {
				return 0, err
			}
			var e cloudevents.Event
			if err := e.UnmarshalJSON(body); err != nil {
				return 0, err
			}
			seqs = append(seqs, seq)
		}
		if err := batch.Err(); err != nil || len(seqs) == 0 {
			return float64(len(rows)) / time.Since(start).Seconds(), err
		}
		if _, err := s.db.Exec(ctx, `UPDATE bench_outbox SET published_at = now(), attempts = attempts + 1,
			last_error = NULL WHERE seq = ANY($1)`, seqs); err != nil {
			return 0, err
		}
	}
}

// producerBaseline is scenario 2's baseline: a bare async, idempotent,
// acks=all sarama producer sending as fast as it can.
func producerBaseline(_ context.Context, s *system, rep *report, rounds int) error {
	value := bytes.Repeat([]byte("x"), 700) // about an event's size
	var rates []float64
	for range rounds {
		cfg := kafka.Config("bench-producer")
		p, err := sarama.NewAsyncProducer(s.brokers, cfg)
		if err != nil {
			return err
		}
		const n = 20000
		start := time.Now()
		go func() {
			for i := range n {
				p.Input() <- &sarama.ProducerMessage{Topic: baselineTopic, Key: sarama.StringEncoder(fmt.Sprint("user-", i%64)),
					Value: sarama.ByteEncoder(value)}
			}
		}()
		acked := 0
		for acked < n {
			select {
			case <-p.Successes():
				acked++
			case err := <-p.Errors():
				return err
			}
		}
		rates = append(rates, n/time.Since(start).Seconds())
		p.Close()
	}
	slices.Sort(rates)
	rep.Producer = rates[len(rates)/2]
	log("  bare producer: %.0f records/s", rep.Producer)
	return nil
}
