package outbox_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// streaming waits until rl is the active relay and streams.
func streaming(t *testing.T, rl *outbox.Relay) {
	t.Helper()
	// Creating a slot waits for every transaction then open on the server,
	// other tests' too.
	testkit.Eventually(t, "the relay streaming", time.Minute, func() bool {
		return testutil.ToFloat64(rl.Mode.WithLabelValues("stream")) == 1
	})
}

// kill ends the relay's database sessions at once (its advisory lock and
// its replication connection), as a relay's crash would.
func (r *rig) kill(t *testing.T) {
	t.Helper()
	// The relay's lock (0x746f646f0001, a bigint key: objsubid 1), not the
	// writers' per-user locks.
	if _, err := r.st.Pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = 29807 AND objid = 1684996097
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		UNION ALL SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
		WHERE database = current_database() AND active_pid IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
}

// onTopic counts each event id on the task topic, and returns the ids in
// the order they first appear for each partition key.
func (r *rig) onTopic(t *testing.T) (map[string]int, map[string][]string) {
	t.Helper()
	seen, firsts := map[string]int{}, map[string][]string{}
	for _, m := range testkit.ReadTopic(t, r.brokers, events.TopicTaskEvents) {
		id := testkit.Event(t, m).ID()
		if seen[id]++; seen[id] == 1 {
			firsts[string(m.Key)] = append(firsts[string(m.Key)], id)
		}
	}
	return seen, firsts
}

// inOrder fails unless every id is on the topic and each user's first
// appear in the order they were written.
func inOrder(t *testing.T, ids []string, seen map[string]int, firsts map[string][]string) {
	t.Helper()
	pos := map[string]int{}
	for i, id := range ids {
		pos[id] = i
		if seen[id] == 0 {
			t.Fatalf("event %s (written %d of %d) never published", id, i, len(ids))
		}
	}
	for key, got := range firsts {
		for i := 1; i < len(got); i++ {
			if pos[got[i]] < pos[got[i-1]] {
				t.Fatalf("user %s: event written %d first published after event written %d", key, pos[got[i]], pos[got[i-1]])
			}
		}
	}
}

// TestStreamPublishesFromTheLogWithoutStampingRows: a streaming relay
// publishes each event of concurrent writers once, in each user's order,
// and writes nothing per event: no row is stamped published, the slot's
// confirmed position and the saved position move past them.
func TestStreamPublishesFromTheLogWithoutStampingRows(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rl := r.relay(t, nil)
	streaming(t, rl)
	users := []string{testkit.User(), testkit.User(), testkit.User()}
	var ids []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := r.write(t, 60, users[w:w+1])
			mu.Lock()
			ids = append(ids, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	testkit.Eventually(t, "every event streamed", 30*time.Second, func() bool { return r.pending(t) == 0 })
	seen, _ := r.onTopic(t)
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("event %s published %d times", id, seen[id])
		}
	}
	ctx := context.Background()
	var stamped, maxSeq, lastSeq int64
	var lag float64
	if err := r.st.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL),
		(SELECT max(seq) FROM outbox), (SELECT last_seq FROM outbox_stream)`).Scan(&stamped, &maxSeq, &lastSeq); err != nil {
		t.Fatal(err)
	}
	if stamped != 0 || lastSeq != maxSeq {
		t.Fatalf("%d rows stamped published (want 0: streamed); saved position at seq %d of %d", stamped, lastSeq, maxSeq)
	}
	testkit.Eventually(t, "the slot confirmed", 10*time.Second, func() bool {
		b, err := r.st.OutboxBacklog(ctx)
		lag = b.SlotLagBytes
		return err == nil && lag < 64<<10
	})
	t.Logf("slot lag after the burst: %.0f bytes", lag)
}

// crashAfterAck publishes for real, then (once) kills the relay's database
// sessions before the relay can confirm the position: a crash between the
// broker's ack and the slot's confirmation.
type crashAfterAck struct {
	*kafka.Publisher
	rig     *rig
	t       *testing.T
	crashed atomic.Bool
	sent    atomic.Int64
}

func (c *crashAfterAck) PublishStructured(ctx context.Context, topics, keys []string, bodies [][]byte) []error {
	errs := c.Publisher.PublishStructured(ctx, topics, keys, bodies)
	c.sent.Add(int64(len(bodies)))
	if c.sent.Load() >= 20 && !c.crashed.Swap(true) {
		c.rig.kill(c.t)
	}
	return errs
}

// TestStreamCrashAfterAckBeforeConfirmOnlyDuplicates: events the broker
// acknowledged but whose position was never confirmed are sent again by
// the relay that takes over (duplicates, which consumers drop by id);
// none is lost and each user's order holds.
func TestStreamCrashAfterAckBeforeConfirmOnlyDuplicates(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	pub, err := kafka.NewPublisher(strings.Split(r.brokers, ","), "relay-test-crash")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	c := &crashAfterAck{Publisher: pub, rig: r, t: t}
	rl := r.relay(t, func(rl *outbox.Relay) { rl.Publisher = c })
	streaming(t, rl)
	users := []string{testkit.User(), testkit.User()}
	ids := r.write(t, 60, users)
	testkit.Eventually(t, "every event streamed", 60*time.Second, func() bool { return r.pending(t) == 0 })
	if !c.crashed.Load() {
		t.Fatal("the relay never crashed")
	}
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
	duplicates := 0
	for _, n := range seen {
		duplicates += n - 1
	}
	if duplicates == 0 {
		t.Fatal("no event sent twice: the position was confirmed before the crash, so the test did not test the gap")
	}
	t.Logf("%d events, %d sent again after the crash", len(ids), duplicates)
}

// outage fails every record while down is set, as a broker that does not
// answer.
type outage struct {
	*kafka.Publisher
	down atomic.Bool
}

func (o *outage) PublishStructured(ctx context.Context, topics, keys []string, bodies [][]byte) []error {
	if o.down.Load() {
		errs := make([]error, len(bodies))
		for i := range errs {
			errs[i] = errors.New("broker unreachable (injected)")
		}
		return errs
	}
	return o.Publisher.PublishStructured(ctx, topics, keys, bodies)
}

// TestStreamRidesOutABrokerOutage: with the stream open and the broker
// down, events wait (nothing confirmed past them); when it is back every
// event goes out, in each user's order.
func TestStreamRidesOutABrokerOutage(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	pub, err := kafka.NewPublisher(strings.Split(r.brokers, ","), "relay-test-outage")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	o := &outage{Publisher: pub}
	rl := r.relay(t, func(rl *outbox.Relay) { rl.Publisher = o })
	streaming(t, rl)
	users := []string{testkit.User(), testkit.User(), testkit.User()}
	o.down.Store(true)
	ids := r.write(t, 60, users)
	time.Sleep(1500 * time.Millisecond) // several failed attempts and position reports
	if n := r.pending(t); n != 60 {
		t.Fatalf("%d events waiting during the outage, want all 60", n)
	}
	o.down.Store(false)
	ids = append(ids, r.write(t, 60, users)...)
	testkit.Eventually(t, "every event streamed", 60*time.Second, func() bool { return r.pending(t) == 0 })
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
}

// TestTwoStreamingRelaysOneActive: of two relays one streams; when it
// dies the other takes the slot within seconds and nothing is lost.
func TestTwoStreamingRelaysOneActive(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a, stopA := r.start(t, nil)
	streaming(t, a)
	b := r.relay(t, func(rl *outbox.Relay) { rl.Poll = 200 * time.Millisecond })
	users := []string{testkit.User(), testkit.User()}
	ids := r.write(t, 20, users)
	testkit.Eventually(t, "streamed", 30*time.Second, func() bool { return r.pending(t) == 0 })
	if testutil.ToFloat64(b.Mode.WithLabelValues("stream")) != 0 || testutil.ToFloat64(b.Published) != 0 {
		t.Fatal("the second relay streamed while the first held the slot")
	}
	took := time.Now()
	r.kill(t) // the first relay's sessions die, as with a SIGKILL of its process
	stopA()
	streaming(t, b)
	t.Logf("the second relay streamed %v after the first died", time.Since(took).Round(time.Millisecond))
	ids = append(ids, r.write(t, 20, users)...)
	testkit.Eventually(t, "streamed after the failover", 30*time.Second, func() bool { return r.pending(t) == 0 })
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
}

// TestInvalidatedSlotLosesNothing: events written while no relay reads the
// slot, whose WAL the server then removes (max_slot_wal_keep_size), are
// published by the next relay from the table: it recreates the slot and
// catches up from before the gap.
func TestInvalidatedSlotLosesNothing(t *testing.T) {
	t.Parallel()
	_, url := testkit.OwnDatabase(t, pgcluster.Options{})
	r := newRigOn(t, url)
	rl, stop := r.start(t, nil)
	streaming(t, rl)
	users := []string{testkit.User(), testkit.User()}
	ids := r.write(t, 10, users)
	testkit.Eventually(t, "streamed", 30*time.Second, func() bool { return r.pending(t) == 0 })
	stop()
	ids = append(ids, r.write(t, 10, users)...) // in the log the slot keeps, no relay reading
	ctx := context.Background()
	if _, err := r.st.Pool.Exec(ctx, `ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Pool.Exec(ctx, `SELECT pg_reload_conf()`); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the slot invalidated", 60*time.Second, func() bool {
		for _, q := range []string{`SELECT pg_logical_emit_message(false, 'filler', repeat('x', 1 << 20)) FROM generate_series(1, 40)`,
			`SELECT pg_switch_wal()`, `CHECKPOINT`} {
			if _, err := r.st.Pool.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		var status string
		_ = r.st.Pool.QueryRow(ctx, `SELECT wal_status FROM pg_replication_slots WHERE database = current_database()`).Scan(&status)
		return status == "lost"
	})
	rl = r.relay(t, nil)
	streaming(t, rl)
	ids = append(ids, r.write(t, 10, users)...)
	testkit.Eventually(t, "every event published", 30*time.Second, func() bool { return r.pending(t) == 0 })
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
	var status string
	if err := r.st.Pool.QueryRow(ctx, `SELECT wal_status FROM pg_replication_slots WHERE database = current_database()`).
		Scan(&status); err != nil || status == "lost" {
		t.Fatalf("slot status %q (%v), want a usable new slot", status, err)
	}
}

// TestStreamSurvivesAPostgresRestart: the relay streams on after the
// server restarts under it, losing nothing.
func TestStreamSurvivesAPostgresRestart(t *testing.T) {
	t.Parallel()
	pg, url := testkit.OwnDatabase(t, pgcluster.Options{})
	r := newRigOn(t, url)
	rl := r.relay(t, func(rl *outbox.Relay) { rl.Poll = 200 * time.Millisecond })
	streaming(t, rl)
	users := []string{testkit.User(), testkit.User()}
	ids := r.write(t, 20, users)
	pg.Stop()
	again, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: pg.Dir, Port: pg.Port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(again.Stop)
	testkit.Eventually(t, "the relay streaming again", 30*time.Second, func() bool {
		return testutil.ToFloat64(rl.Mode.WithLabelValues("stream")) == 1
	})
	ids = append(ids, r.write(t, 20, users)...)
	testkit.Eventually(t, "every event published", 30*time.Second, func() bool { return r.pending(t) == 0 })
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
}

// TestWithoutLogicalDecodingTheRelayPolls: on a server without logical
// decoding (wal_level=replica, as some managed databases) the relay says
// so once and polls, stamping rows as before.
func TestWithoutLogicalDecodingTheRelayPolls(t *testing.T) {
	t.Parallel()
	_, url := testkit.OwnDatabase(t, pgcluster.Options{NoLogicalDecoding: true})
	r := newRigOn(t, url)
	var logs testkit.SyncBuffer
	rl := r.relay(t, func(rl *outbox.Relay) { rl.Log, rl.Poll = zerolog.New(&logs), 200*time.Millisecond })
	testkit.Eventually(t, "the relay polling", 20*time.Second, func() bool {
		return testutil.ToFloat64(rl.Mode.WithLabelValues("poll")) == 1
	})
	users := []string{testkit.User()}
	ids := r.write(t, 10, users)
	testkit.Eventually(t, "published", 30*time.Second, func() bool { return r.pending(t) == 0 })
	r.kill(t) // a new session of the relay does not say it again
	ids = append(ids, r.write(t, 10, users)...)
	testkit.Eventually(t, "published after a new session", 30*time.Second, func() bool { return r.pending(t) == 0 })
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
	var stamped int
	if err := r.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE published_at IS NOT NULL`).
		Scan(&stamped); err != nil || stamped != len(ids) {
		t.Fatalf("%d rows stamped published, want %d (%v)", stamped, len(ids), err)
	}
	if n := strings.Count(logs.String(), "cannot stream"); n != 1 || !strings.Contains(logs.String(), "wal_level=replica") {
		t.Fatalf("said %d times that it cannot stream (want once, with why):\n%s", n, logs.String())
	}
}

// TestStreamPublishesALargeTransactionInParts: a transaction of more
// events than one send takes goes out in parts as it arrives, each event
// once and in order, and counts as published with its last part.
func TestStreamPublishesALargeTransactionInParts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rl := r.relay(t, func(rl *outbox.Relay) { rl.Batch = 100 }) // parts of 1,000
	streaming(t, rl)
	users := []string{testkit.User(), testkit.User(), testkit.User()}
	if _, err := r.st.Pool.Exec(context.Background(), `INSERT INTO outbox (event_id, topic, partition_key, event)
		SELECT 'big-' || i, 'task-events', ($1::text[])[1 + i % 3],
			jsonb_build_object('specversion', '1.0', 'id', 'big-' || i, 'source', '/test', 'type', 'com.todo.task.created')
		FROM generate_series(0, 2499) AS i`, users); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "every event streamed", 30*time.Second, func() bool { return r.pending(t) == 0 })
	ids := make([]string, 2500)
	for i := range ids {
		ids[i] = "big-" + strconv.Itoa(i)
	}
	seen, firsts := r.onTopic(t)
	inOrder(t, ids, seen, firsts)
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("event %s published %d times", id, seen[id])
		}
	}
}
