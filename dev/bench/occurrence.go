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
			return err
		}
	}
	seen := newArrivals()
	stop, err := seen.watch(ctx, s.brokers)
	if err != nil {
		return err
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
		return err
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
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for seen.count() < len(done) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// The baseline runs under the same background load.
	base, err := roundTrips(s.brokers)
	bgStop()
	bg.Wait()
	if err != nil {
		return err
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
	r := occurrenceResult{Completions: completions, RatePerS: completionRate, Background: background, Missing: missing,
		P50ms: ms(quantile(lat, .5)), P95ms: ms(quantile(lat, .95)), P99ms: ms(quantile(lat, .99)),
		FirstLegP50ms: ms(quantile(first, .5)), FirstLegP99ms: ms(quantile(first, .99)),
		SecondLegP50ms: ms(quantile(second, .5)), SecondLegP99ms: ms(quantile(second, .99))}
	if r.Relay, err = after.since(before); err != nil {
		return err
	}
	r.BaseP50ms, r.BaseP95ms, r.BaseP99ms = ms(quantile(base, .5)), ms(quantile(base, .95)), ms(quantile(base, .99))
	rep.Occurrence = r
	log("  completion → next occurrence p50/p95/p99 %.1f/%.1f/%.1f ms (%d missing); bare round trip %.1f/%.1f/%.1f ms",
		r.P50ms, r.P95ms, r.P99ms, missing, r.BaseP50ms, r.BaseP95ms, r.BaseP99ms)
	log("  legs p50/p99: completed event %.1f/%.1f ms, then the occurrence's event %.1f/%.1f ms",
		r.FirstLegP50ms, r.FirstLegP99ms, r.SecondLegP50ms, r.SecondLegP99ms)
	log("  relay meanwhile: %d passes, mean %.1f ms, p50 ≤ %.0f ms, p99 ≤ %.0f ms, %.0f rows per pass",
		r.Relay.Passes, r.Relay.MeanMs, r.Relay.P50Ms, r.Relay.P99Ms, r.Relay.RowsPerPass)
	return nil
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
	sent := make(map[string]time.Time, completions)
	var mu sync.Mutex
	got := make(chan time.Duration, completions)
	go func() {
		for m := range pc.Messages() {
			mu.Lock()
			t0, ok := sent[string(m.Key)]
			mu.Unlock()
			if ok {
				got <- time.Since(t0)
			}
		}
	}()
	tick := time.NewTicker(time.Second / completionRate)
	defer tick.Stop()
	for i := range completions {
		<-tick.C
		key := fmt.Sprint("rt-", i)
		mu.Lock()
		sent[key] = time.Now()
		mu.Unlock()
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: baselineTopic, Partition: 0,
			Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("x")}); err != nil {
			return nil, err
		}
	}
	var out []time.Duration
	timeout := time.After(30 * time.Second)
	for len(out) < completions {
		select {
		case d := <-got:
			out = append(out, d)
		case <-timeout:
			return nil, fmt.Errorf("round trips: %d of %d came back", len(out), completions)
		}
	}
	slices.Sort(out)
	return out, nil
}
