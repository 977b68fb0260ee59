package outbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

type rig struct {
	st      *store.Store
	brokers string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigOn(t, testkit.Database(t))
}

// newRigOn is a rig on the database at url.
func newRigOn(t *testing.T, url string) *rig {
	t.Helper()
	st, err := store.Open(context.Background(), url, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &rig{st: st, brokers: testkit.Broker(t, 3)}
}

// relay starts a relay with its own producer, streaming from the log
// unless tune says otherwise; it stops when the test ends.
func (r *rig) relay(t *testing.T, tune func(*outbox.Relay)) *outbox.Relay {
	t.Helper()
	rl, _ := r.start(t, tune)
	return rl
}

// start is relay that also returns a call that stops the relay (as a
// SIGTERM would) and waits until it did.
func (r *rig) start(t *testing.T, tune func(*outbox.Relay)) (*outbox.Relay, func()) {
	t.Helper()
	pub, err := kafka.NewPublisher(strings.Split(r.brokers, ","), "relay-test")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	rl := &outbox.Relay{Pool: r.st.Pool, Publisher: pub, Log: zerolog.Nop(), Stream: true,
		Mode: m.OutboxRelayMode, Published: m.OutboxPublished, Failed: m.OutboxPublishFailures,
		Pass: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "relay_test_pass_seconds"})}
	if tune != nil {
		tune(rl)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = rl.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait(); _ = pub.Close() }) }
	t.Cleanup(stop)
	return rl, stop
}

// write stores n tasks spread over users, each with its created event, and
// returns the event ids in commit order.
func (r *rig) write(t *testing.T, n int, users []string) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		now := time.Now().UTC()
		tk := task.Task{ID: uuid.NewString(), UserID: users[i%len(users)], Title: "t", Status: task.StatusPending,
			Priority: task.PriorityMedium, Timezone: "UTC", RecurringType: task.RecurNone,
			RecurrenceBasis: task.BasisCompletion, Tags: []string{}, CreatedAt: now, UpdatedAt: now}
		e, err := events.ForTask(events.TypeTaskCreated, "test", tk, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.st.CreateTask(context.Background(), tk, e); err != nil {
			t.Fatal(err)
		}
		ids[i] = e.ID()
	}
	return ids
}

func (r *rig) pending(t *testing.T) int64 {
	t.Helper()
	b, err := r.st.OutboxBacklog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b.Pending
}

func TestSeveralRelaysPublishEachRowOnceInOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	users := []string{testkit.User(), testkit.User(), testkit.User(), testkit.User()}
	var relays []*outbox.Relay
	for range 3 {
		relays = append(relays, r.relay(t, nil))
	}
	var ids []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range 3 { // concurrent writers while relays run
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := r.write(t, 100, users[w:w+2])
			mu.Lock()
			ids = append(ids, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	testkit.Eventually(t, "outbox drained", 30*time.Second, func() bool { return r.pending(t) == 0 })
	records := testkit.ReadTopic(t, r.brokers, events.TopicTaskEvents)
	seen := map[string]int{}
	seqOf := map[string]int64{}
	rows, err := r.st.Pool.Query(context.Background(), `SELECT event_id, seq FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var seq int64
		_ = rows.Scan(&id, &seq)
		seqOf[id] = seq
	}
	lastSeq := map[string]int64{}
	for _, m := range records {
		id := testkit.Event(t, m).ID()
		seen[id]++
		key := string(m.Key)
		if seqOf[id] < lastSeq[key] {
			t.Fatalf("key %s: event seq %d published after seq %d", key, seqOf[id], lastSeq[key])
		}
		lastSeq[key] = seqOf[id]
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("event %s published %d times", id, seen[id])
		}
	}
	var published int64
	var passes uint64
	for _, rl := range relays {
		published += int64(testutil.ToFloat64(rl.Published))
		var h dto.Metric
		if err := rl.Pass.(prometheus.Histogram).Write(&h); err != nil {
			t.Fatal(err)
		}
		passes += h.GetHistogram().GetSampleCount()
	}
	if len(records) != len(ids) || published != int64(len(ids)) {
		t.Fatalf("%d records and %d publishes for %d events", len(records), published, len(ids))
	}
	if passes == 0 || passes > uint64(published) {
		t.Fatalf("%d timed passes for %d events published (each pass moves at least one)", passes, published)
	}
}

func TestRelayWakesOnNotify(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.relay(t, func(rl *outbox.Relay) { rl.Stream, rl.Poll = false, time.Minute }) // the polling relay's wake-up
	r.write(t, 1, []string{testkit.User()})
	testkit.Eventually(t, "first row published", 10*time.Second, func() bool { return r.pending(t) == 0 })
	time.Sleep(200 * time.Millisecond) // relay idle, waiting for a notification
	r.write(t, 1, []string{testkit.User()})
	took := testkit.Eventually(t, "row published after NOTIFY", 5*time.Second, func() bool { return r.pending(t) == 0 })
	t.Logf("published %v after commit with a 1m poll interval", took)
}

func TestRelayDeletesPublishedRowsAfterRetention(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.relay(t, func(rl *outbox.Relay) {
		rl.Stream = false // the polling relay stamps rows published; streamed rows go by time (see the stream's tests)
		rl.Retention, rl.CleanEvery, rl.Poll = 50*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
	})
	r.write(t, 5, []string{testkit.User()})
	testkit.Eventually(t, "published rows deleted", 10*time.Second, func() bool {
		var n int
		_ = r.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n)
		return n == 0
	})
}

func TestRelayRetriesUntilTheBrokerAnswers(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	gone, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, events.TopicTaskEvents))
	if err != nil {
		t.Fatal(err)
	}
	deadPub, err := kafka.NewPublisher(gone.ListenAddrs(), "dead")
	if err != nil {
		t.Fatal(err)
	}
	gone.Close() // the broker is gone; every publish now fails
	defer deadPub.Close()
	failing := &outbox.Relay{Pool: r.st.Pool, Publisher: deadPub, Log: zerolog.Nop(), Poll: 50 * time.Millisecond,
		Failed: metrics.New().OutboxPublishFailures}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = failing.Run(ctx); close(done) }()
	r.write(t, 3, []string{testkit.User()})
	testkit.Eventually(t, "failed attempts recorded", 60*time.Second, func() bool {
		var attempts int
		_ = r.st.Pool.QueryRow(context.Background(),
			`SELECT coalesce(max(attempts), 0) FROM outbox WHERE last_error IS NOT NULL`).Scan(&attempts)
		return attempts >= 2
	})
	cancel()
	<-done
	if n := r.pending(t); n != 3 || testutil.ToFloat64(failing.Failed) < 2 {
		t.Fatalf("%d pending and %v failures counted; want all 3 kept and failures counted", n, testutil.ToFloat64(failing.Failed))
	}
	r.relay(t, nil) // a relay with a live broker takes over
	testkit.Eventually(t, "backlog published", 30*time.Second, func() bool { return r.pending(t) == 0 })
	if got := len(testkit.ReadTopic(t, r.brokers, events.TopicTaskEvents)); got != 3 {
		t.Fatalf("%d records, want 3", got)
	}
}

// Rows that can never be published (the broker refuses them for good, or
// they are not CloudEvents) are set aside and counted; the rows behind
// them, of every user, are published.
func TestRowsThatCanNeverBePublishedAreSetAside(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	small, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, events.TopicTaskEvents),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4000"}))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	r.brokers = strings.Join(small.ListenAddrs(), ",")
	ctx := context.Background()
	userA, userB := testkit.User(), testkit.User()
	first := r.write(t, 1, []string{userA})
	huge := cloudevents.NewEvent()
	huge.SetID(uuid.NewString())
	huge.SetSource("/test")
	huge.SetType(events.TypeTaskUpdated)
	huge.SetExtension(events.ExtPartitionKey, userB)
	_ = huge.SetData(cloudevents.ApplicationJSON, map[string]string{"blob": strings.Repeat("x", 8000)})
	if err := r.st.Enqueue(ctx, huge); err != nil {
		t.Fatal(err)
	}
	// Written before the insert check existed: valid JSON, not a CloudEvent.
	if _, err := r.st.Pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, partition_key, event) VALUES
		('legacy', 'task-events', $1, '{"specversion":"1.0","id":"legacy","source":"/s","type":"t","time":"yesterday"}')`, userB); err != nil {
		t.Fatal(err)
	}
	last := r.write(t, 2, []string{userA, userB})
	r.relay(t, nil)
	testkit.Eventually(t, "the rows behind published", 30*time.Second, func() bool { return r.pending(t) == 0 })
	published := map[string]bool{}
	for _, m := range testkit.ReadTopic(t, r.brokers, events.TopicTaskEvents) {
		published[testkit.Event(t, m).ID()] = true
	}
	for _, id := range append(first, last...) {
		if !published[id] {
			t.Fatalf("event %s behind the bad rows was not published", id)
		}
	}
	b, err := r.st.OutboxBacklog(ctx)
	if err != nil || b.Failed != 2 {
		t.Fatalf("%d rows set aside, want 2 (%v)", b.Failed, err)
	}
	var reasons []string
	rows, _ := r.st.Pool.Query(ctx, `SELECT last_error FROM outbox WHERE failed_at IS NOT NULL ORDER BY seq`)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		reasons = append(reasons, s)
	}
	if len(reasons) != 2 || !strings.Contains(reasons[0], "too large") || !strings.Contains(reasons[1], "not a CloudEvent") {
		t.Fatalf("reasons recorded: %q", reasons)
	}
}

func TestOutboxRefusesEventsThatAreNotCloudEvents(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	e := cloudevents.NewEvent() // no id, no source, no type
	if err := r.st.Enqueue(context.Background(), e); err == nil {
		t.Fatal("an invalid CloudEvent was queued")
	}
	_, err := r.st.Pool.Exec(context.Background(), `INSERT INTO outbox (event_id, topic, partition_key, event)
		VALUES ('w1', 'task-events', '', '{"specversion":"1.0","id":"w1","type":"x"}')`)
	if err == nil || !strings.Contains(err.Error(), "outbox_event_is_cloudevent") {
		t.Fatalf("the schema accepted an event without a source: %v", err)
	}
}

// flaky publishes batches through a real producer but fails the record at
// index failAt of the first batch it sees with a transient error.
type flaky struct {
	*kafka.Publisher
	mu      sync.Mutex
	failAt  int
	batches [][]string // event ids per batch
}

func (f *flaky) PublishStructured(ctx context.Context, topics, keys []string, bodies [][]byte) []error {
	f.mu.Lock()
	first := len(f.batches) == 0
	var ids []string
	for _, b := range bodies {
		var e cloudevents.Event
		_ = e.UnmarshalJSON(b)
		ids = append(ids, e.ID())
	}
	f.batches = append(f.batches, ids)
	f.mu.Unlock()
	errs := f.Publisher.PublishStructured(ctx, topics, keys, bodies)
	if first && f.failAt < len(errs) {
		errs[f.failAt] = errors.New("broker unreachable (injected)")
	}
	return errs
}

// TestBatchesKeepEachUsersOrderAcrossAFailure: the relay sends a backlog
// in batches and marks each batch with one statement; when a record in the
// middle of a batch fails, the rows before it are done and it is sent
// again together with everything behind it, so the topic holds every event
// with each user's events in order from the first send of the failed one
// on (a few duplicates, which consumers drop by id).
func TestBatchesKeepEachUsersOrderAcrossAFailure(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	users := []string{testkit.User(), testkit.User(), testkit.User()}
	ids := r.write(t, 300, users)
	pub, err := kafka.NewPublisher(strings.Split(r.brokers, ","), "relay-test-flaky")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	f := &flaky{Publisher: pub, failAt: 40}
	r.relay(t, func(rl *outbox.Relay) { rl.Publisher, rl.Batch = f, 100 })
	testkit.Eventually(t, "backlog published", 30*time.Second, func() bool { return r.pending(t) == 0 })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.batches) < 4 || len(f.batches[0]) != 100 || f.batches[1][0] != ids[40] {
		t.Fatalf("batches of %d, %d, ...; the second starts with %s, want the failed %s", len(f.batches[0]),
			len(f.batches[1]), f.batches[1][0], ids[40])
	}
	msgs := testkit.ReadTopic(t, r.brokers, events.TopicTaskEvents)
	seen := map[string]int{}
	last := map[string]int{} // user → position in ids of the last event first seen
	pos := map[string]int{}
	for i, id := range ids {
		pos[id] = i
	}
	for _, u := range users {
		last[u] = -1
	}
	for _, m := range msgs { // in offset order per partition, and a user's events share one
		e := testkit.Event(t, m)
		if seen[e.ID()]++; seen[e.ID()] > 1 {
			continue
		}
		user := testkit.Extension(e, events.ExtPartitionKey)
		if pos[e.ID()] < last[user] {
			t.Fatalf("event %d of user %s first arrived after event %d", pos[e.ID()], user, last[user])
		}
		last[user] = pos[e.ID()]
	}
	for _, id := range ids {
		if seen[id] == 0 {
			t.Fatalf("event %s never published", id)
		}
	}
	if len(msgs) > len(ids)+60 {
		t.Fatalf("%d records for %d events: more duplicates than the failed batch's tail", len(msgs), len(ids))
	}
}
