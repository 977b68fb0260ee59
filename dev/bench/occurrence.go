package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// occurrenceResult is scenario 3.
type occurrenceResult struct {
	Completions int     `json:"completions"`
	RatePerS    int     `json:"rate_per_s"`
	Background  int     `json:"background_clients"`
	P50ms       float64 `json:"p50_ms"`
	P95ms       float64 `json:"p95_ms"`
	P99ms       float64 `json:"p99_ms"`
	Missing     int     `json:"missing"`
	// The legs: complete-task's answer → its task.completed event read
	// from the broker (the first outbox trip), and that → recur-task's
	// task.created event read (recur-task and the second trip).
	FirstLegP50ms  float64 `json:"completed_event_p50_ms"`
	FirstLegP99ms  float64 `json:"completed_event_p99_ms"`
	SecondLegP50ms float64 `json:"occurrence_event_p50_ms"`
	SecondLegP99ms float64 `json:"occurrence_event_p99_ms"`
	BaseP50ms      float64 `json:"baseline_p50_ms"`
	BaseP95ms      float64 `json:"baseline_p95_ms"`
	BaseP99ms      float64 `json:"baseline_p99_ms"`
	// The floor: the same two hops with nothing of ours (pipelineTrips).
	PipeP50ms float64 `json:"pipeline_p50_ms"`
	PipeP95ms float64 `json:"pipeline_p95_ms"`
	PipeP99ms float64 `json:"pipeline_p99_ms"`
	// Relay is how the relay's passes went while the completions ran.
	Relay relayPasses `json:"relay_passes"`
}

// Scenario 3's shape.
const (
	completions    = 2000
	completionRate = 100 // per second
	background     = 32  // create-task clients meanwhile
	occUsers       = 100 // owners of the completed tasks, 20 each
)

// nextOccurrence is scenario 3: recurring tasks of 100 users completed
// through complete-task at a fixed rate while create-task serves 32 clients; each
// completion's latency runs from complete-task's answer (the completion
// committed) to the arrival at a consumer of recur-task's event announcing
// the next occurrence (committed). Baseline: a bare produce → consume round
// trip on the same broker, at the same rate, under the same background load.
func nextOccurrence(ctx context.Context, s *system, rep *report) error {
	r, err := occurrences(ctx, s, true)
	if err != nil {
		return err
	}
	rep.Occurrence = r
	// The same with the relay polling the table, in the same run: the
	// functions restarted with OUTBOX_STREAM=off, measured once the
	// polling relay has sent again what the stream had not stamped (it
	// starts from a margin before the stream's position), then back.
	log("  again with the polling relay")
	if err := s.startFunctions(map[string]string{"OUTBOX_STREAM": "off"}); err != nil {
		return err
	}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		var left int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL AND failed_at IS NULL`).
			Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			break
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("the polling relay left %d rows after 5 minutes", left)
		}
	}
	polled, err := occurrences(ctx, s, false)
	if err != nil {
		return err
	}
	rep.OccurrencePolling = &polled
	return s.startFunctions(nil)
}

// occurrences measures scenario 3 once, with its baselines when asked.
func occurrences(ctx context.Context, s *system, baselines bool) (occurrenceResult, error) {
	var r occurrenceResult
	run := uuid.NewString()[:8]
	ids := make([]string, completions)
	owner := make(map[string]int, completions)
	tokens := make([]string, occUsers)
	users := make([]string, occUsers)
	for u := range users {
		users[u] = fmt.Sprintf("bench-occ-%s-%d", run, u)
		tokens[u], _ = testkit.SignToken([]byte(testkit.Secret), users[u], time.Now(), time.Hour)
	}
	for i := range ids {
		ids[i] = uuid.NewString()
		owner[ids[i]] = i % occUsers
		if err := seedRecurring(ctx, s, users[i%occUsers], ids[i:i+1]); err != nil {
			return r, err
		}
	}
	seen := newArrivals()
	stop, err := seen.watch(ctx, s.brokers)
	if err != nil {
		return r, err
	}
	defer stop()
	bgCtx, bgStop := context.WithCancel(ctx)
	defer bgStop()
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); backgroundLoad(bgCtx, s) }()
	client := &http.Client{}
	done := make(map[string]time.Time, completions)
	var mu sync.Mutex
	s.prof.start(ctx, "occurrence", completions/completionRate/2*time.Second)
	defer s.prof.wait()
	before, err := scrapePasses(s.create, s.complete, s.recur)
	if err != nil {
		return r, err
	}
	tick := time.NewTicker(time.Second / completionRate)
	var wg sync.WaitGroup
	for _, id := range ids {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := owner[id]
			req, _ := http.NewRequest("PATCH", s.complete.URL()+"/api/"+users[u]+"/tasks/"+id+"/complete", nil)
			req.Header.Set("Authorization", "Bearer "+tokens[u])
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				mu.Lock()
				done[id] = time.Now()
				mu.Unlock()
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	after, err := scrapePasses(s.create, s.complete, s.recur)
	if err != nil {
		return r, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for seen.count() < len(done) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The baselines run under the same background load.
	var base, pipe []time.Duration
	if baselines {
		if base, err = roundTrips(s.brokers); err == nil {
			pipe, err = pipelineTrips(ctx, s)
		}
	}
	bgStop()
	bg.Wait()
	if err != nil {
		return r, err
	}
	var lat, first, second []time.Duration
	missing := 0
	for id, t0 := range done {
		t1, ok := seen.at(id)
		if !ok {
			missing++
			continue
		}
		lat = append(lat, max(t1.Sub(t0), 0))
		if tc, ok := seen.completedAt(id); ok {
			first, second = append(first, max(tc.Sub(t0), 0)), append(second, max(t1.Sub(tc), 0))
		}
	}
	missing += completions - len(done)
	for _, l := range [][]time.Duration{lat, first, second} {
		slices.Sort(l)
	}
	r = occurrenceResult{Completions: completions, RatePerS: completionRate, Background: background, Missing: missing,
		P50ms: ms(quantile(lat, .5)), P95ms: ms(quantile(lat, .95)), P99ms: ms(quantile(lat, .99)),
		FirstLegP50ms: ms(quantile(first, .5)), FirstLegP99ms: ms(quantile(first, .99)),
		SecondLegP50ms: ms(quantile(second, .5)), SecondLegP99ms: ms(quantile(second, .99))}
	if r.Relay, err = after.since(before); err != nil {
		return r, err
	}
	r.BaseP50ms, r.BaseP95ms, r.BaseP99ms = ms(quantile(base, .5)), ms(quantile(base, .95)), ms(quantile(base, .99))
	r.PipeP50ms, r.PipeP95ms, r.PipeP99ms = ms(quantile(pipe, .5)), ms(quantile(pipe, .95)), ms(quantile(pipe, .99))
	log("  completion → next occurrence p50/p95/p99 %.1f/%.1f/%.1f ms (%d missing); bare pipeline %.1f/%.1f/%.1f ms; bare round trip %.1f/%.1f/%.1f ms",
		r.P50ms, r.P95ms, r.P99ms, missing, r.PipeP50ms, r.PipeP95ms, r.PipeP99ms, r.BaseP50ms, r.BaseP95ms, r.BaseP99ms)
	log("  legs p50/p99: completed event %.1f/%.1f ms, then the occurrence's event %.1f/%.1f ms",
		r.FirstLegP50ms, r.FirstLegP99ms, r.SecondLegP50ms, r.SecondLegP99ms)
	log("  relay meanwhile: %d passes, mean %.1f ms, p50 ≤ %.0f ms, p99 ≤ %.0f ms, %.0f rows per pass",
		r.Relay.Passes, r.Relay.MeanMs, r.Relay.P50Ms, r.Relay.P99Ms, r.Relay.RowsPerPass)
	return r, nil
}

// seedRecurring stores pending daily tasks with these ids for user.
func seedRecurring(ctx context.Context, s *system, user string, ids []string) error {
	title, rec, tz := "Water the plants", "daily", "Europe/Berlin"
	due := time.Now().Add(24 * time.Hour).Format(time.RFC3339)
	for _, id := range ids {
		t, err := task.Draft{Title: &title, RecurringType: &rec, Timezone: &tz, DueDate: &due}.Build(id, user, time.Now().UTC())
		if err != nil {
			return err
		}
		if err := insertTask(ctx, s.db, t); err != nil {
			return err
		}
	}
	return nil
}

// backgroundLoad keeps create-task busy with background clients until ctx ends.
func backgroundLoad(ctx context.Context, s *system) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: background}}
	var wg sync.WaitGroup
	for c := range background {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("bench-bg-%d", c)
			token, _ := testkit.SignToken([]byte(testkit.Secret), user, time.Now(), time.Hour)
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "POST", s.create.URL()+"/api/"+user+"/tasks",
					strings.NewReader(`{"title":"background"}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
}

// arrivals records when recur-task's created events reach a consumer, by
// the task they follow, and complete-task's completed events, by task.
type arrivals struct {
	mu        sync.Mutex
	byID      map[string]time.Time
	completed map[string]time.Time
}

func newArrivals() *arrivals {
	return &arrivals{byID: map[string]time.Time{}, completed: map[string]time.Time{}}
}

func (a *arrivals) completedAt(id string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.completed[id]
	return t, ok
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byID)
}

func (a *arrivals) at(parent string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.byID[parent]
	return t, ok
}

// watch records each next occurrence's arrival by its parent.
func (a *arrivals) watch(ctx context.Context, brokers []string) (func(), error) {
	return watchEvents(ctx, brokers, "bench-occurrence", func(e *cloudevents.Event) {
		if e.Type() == events.TypeTaskCompleted {
			a.mu.Lock()
			a.completed[e.Subject()] = time.Now()
			a.mu.Unlock()
			return
		}
		if e.Type() != events.TypeTaskCreated || e.Source() != "/functions/recur-task" {
			return
		}
		var d struct {
			Parent *string `json:"parent_task_id"`
		}
		if json.Unmarshal(e.Data(), &d) == nil && d.Parent != nil {
			a.mu.Lock()
			a.byID[*d.Parent] = time.Now()
			a.mu.Unlock()
		}
	})
}

// roundTrips is scenario 3's baseline: records produced (sync, idempotent,
// acks=all) at the same rate and timed until a consumer reads each.
func roundTrips(brokers []string) ([]time.Duration, error) {
	consumer, err := sarama.NewConsumer(brokers, kafka.Config("bench-roundtrip"))
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(baselineTopic, 0, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	cfg := kafka.Config("bench-roundtrip")
	cfg.Producer.Partitioner = sarama.NewManualPartitioner // every record to partition 0, which the consumer reads
	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	trips := timeTrips(pc)
	tick := time.NewTicker(time.Second / completionRate)
	defer tick.Stop()
	for i := range completions {
		<-tick.C
		key := fmt.Sprint("rt-", i)
		trips.sending(key)
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: baselineTopic, Partition: 0,
			Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("x")}); err != nil {
			return nil, err
		}
	}
	return trips.wait("round trips", nil)
}

// trips times records from their send to their arrival, by key.
type trips struct {
	mu   sync.Mutex
	sent map[string]time.Time
	got  chan time.Duration
}

// timeTrips times the records pc reads.
func timeTrips(pc sarama.PartitionConsumer) *trips {
	t := &trips{sent: make(map[string]time.Time, completions), got: make(chan time.Duration, completions)}
	go func() {
		for m := range pc.Messages() {
			t.mu.Lock()
			t0, ok := t.sent[string(m.Key)]
			t.mu.Unlock()
			if ok {
				t.got <- time.Since(t0)
			}
		}
	}()
	return t
}

// sending notes the send of the record keyed key.
func (t *trips) sending(key string) {
	t.mu.Lock()
	t.sent[key] = time.Now()
	t.mu.Unlock()
}

// wait returns the times of completions trips, sorted, or the first error
// from failed (nil: none), or gives up after 30 s.
func (t *trips) wait(what string, failed <-chan error) ([]time.Duration, error) {
	var out []time.Duration
	timeout := time.After(30 * time.Second)
	for len(out) < completions {
		select {
		case d := <-t.got:
			out = append(out, d)
		case err := <-failed:
			return nil, err
		case <-timeout:
			return nil, fmt.Errorf("%s: %d of %d came back", what, len(out), completions)
		}
	}
	slices.Sort(out)
	return out, nil
}

// pipelineTrips is scenario 3's floor: the design's two hops with nothing
// of ours in them, at the same rate under the same background load. A
// record produced (sync, idempotent, acks=all) is read by a consumer that
// at once (each record on its own, none waiting for another) writes in one
// pgx transaction what recur-task writes for a completion
// (the processed event, the next occurrence, its outbox row, the parent's
// stamp; on copies of those tables, with the series trigger, so no relay
// sees them), then produces the occurrence's record, which a second
// consumer reads: each trip timed from the first produce to that read.
func pipelineTrips(ctx context.Context, s *system) ([]time.Duration, error) {
	for _, t := range []string{"tasks", "processed_events", "outbox"} {
		if _, err := s.db.Exec(ctx, `CREATE TABLE bench_pipe_`+t+` (LIKE `+t+` INCLUDING ALL)`); err != nil {
			return nil, err
		}
		defer s.db.Exec(context.WithoutCancel(ctx), `DROP TABLE bench_pipe_`+t) //nolint:errcheck // best effort
	}
	// The tasks' trigger that places a task in its series (a copy gets no
	// triggers), so the copy holds what recur-task's rows hold.
	if _, err := s.db.Exec(ctx, `CREATE TRIGGER bench_pipe_series BEFORE INSERT ON bench_pipe_tasks
		FOR EACH ROW EXECUTE FUNCTION tasks_place_in_series()`); err != nil {
		return nil, err
	}
	title, rec, tz := "Water the plants", "daily", "Europe/Berlin"
	parents := make(map[string]task.Task, completions)
	for i := range completions {
		t, err := task.Draft{Title: &title, RecurringType: &rec, Timezone: &tz}.Build(uuid.NewString(), fmt.Sprint("pipe-", i%occUsers), time.Now().UTC())
		if err != nil {
			return nil, err
		}
		if _, err := s.db.Exec(ctx, `INSERT INTO bench_pipe_tasks (`+strings.Join(taskColumns, ", ")+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`, taskRow(t)...); err != nil {
			return nil, err
		}
		parents[t.ID] = t
	}
	consumer, err := sarama.NewConsumer(s.brokers, kafka.Config("bench-pipeline"))
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	first, err := consumer.ConsumePartition(baselineTopic, 1, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	defer first.Close()
	second, err := consumer.ConsumePartition(baselineTopic, 2, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	defer second.Close()
	cfg := kafka.Config("bench-pipeline")
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer(s.brokers, cfg)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	hopErr := make(chan error, 1)
	go func() { // the consumer in the middle: recur-task's work, bare, each record at once (no queue)
		for m := range first.Messages() {
			go func() {
				if err := pipelineHop(ctx, s, producer, parents[string(m.Key)], m.Value); err != nil {
					select {
					case hopErr <- err:
					default:
					}
				}
			}()
		}
	}()
	trips := timeTrips(second)
	tick := time.NewTicker(time.Second / completionRate)
	defer tick.Stop()
	for id, parent := range parents {
		<-tick.C
		e, err := events.ForTask(events.TypeTaskCompleted, "bench", parent, time.Now().UTC())
		if err != nil {
			return nil, err
		}
		body, _ := e.MarshalJSON()
		trips.sending(id)
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: baselineTopic, Partition: 1,
			Key: sarama.StringEncoder(id), Value: sarama.ByteEncoder(body)}); err != nil {
			return nil, err
		}
	}
	return trips.wait("pipeline", hopErr)
}

// pipelineHop is the bare middle of the pipeline for one completion of
// parent: one transaction, then the occurrence's record.
func pipelineHop(ctx context.Context, s *system, producer sarama.SyncProducer, parent task.Task, completed []byte) error {
	var in cloudevents.Event
	if err := in.UnmarshalJSON(completed); err != nil {
		return err
	}
	now := time.Now().UTC()
	next := parent
	next.ID, next.ParentTaskID, next.CreatedAt, next.UpdatedAt = uuid.NewString(), &parent.ID, now, now
	e, err := events.ForTask(events.TypeTaskCreated, "bench", next, now)
	if err != nil {
		return err
	}
	body, _ := e.MarshalJSON()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO bench_pipe_processed_events (consumer, event_id) VALUES ('bench', $1)`, in.ID())
	b.Queue(`UPDATE bench_pipe_tasks SET updated_at = $2 WHERE id = $1`, parent.ID, now)
	b.Queue(`INSERT INTO bench_pipe_tasks (`+strings.Join(taskColumns, ", ")+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`, taskRow(next)...)
	b.Queue(`INSERT INTO bench_pipe_outbox (event_id, topic, partition_key, event) VALUES ($1, $2, $3, $4)`,
		e.ID(), events.TopicTaskEvents, next.UserID, body)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: baselineTopic, Partition: 2,
		Key: sarama.StringEncoder(parent.ID), Value: sarama.ByteEncoder(body)})
	return err
}
