package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/testkit"
)

const topic = "consumer-test"

// seen records what a group's handlers were given, per partition, in order.
type seen struct {
	mu    sync.Mutex
	parts map[int32][]int64
	total atomic.Int64
}

func (s *seen) add(records []kafka.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		s.parts[r.Partition] = append(s.parts[r.Partition], r.Offset)
	}
	s.total.Add(int64(len(records)))
}

func broker(t *testing.T, partitions int32) string {
	t.Helper()
	b, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return strings.Join(b.ListenAddrs(), ",")
}

// produce sends n records to every partition of the topic.
func produce(t *testing.T, brokers string, partitions int32, n int) {
	t.Helper()
	cfg := kafka.Config("consumer-test-producer")
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(strings.Split(brokers, ","), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var msgs []*sarama.ProducerMessage
	for part := range partitions {
		for i := range n {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: part, Value: sarama.StringEncoder(fmt.Sprint(i))})
		}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func run(t *testing.T, c *kafka.Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// A member joining the group takes partitions from the one already there
// without that one giving up the partitions it keeps (cooperative
// rebalancing); an eager protocol would revoke all six, then give four
// back.
func TestRebalanceMovesOnlyThePartitionsThatChangeHands(t *testing.T) {
	const parts = 6
	brokers := broker(t, parts)
	produce(t, brokers, parts, 5)
	var got seen
	got.parts = map[int32][]int64{}
	handler := func(_ context.Context, rs []kafka.Record) (int, error) { got.add(rs); return len(rs), nil }
	newMember := func() (*kafka.Consumer, prometheus.Counter, prometheus.Counter) {
		assigned, revoked := prometheus.NewCounter(prometheus.CounterOpts{Name: "a"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "r"})
		return &kafka.Consumer{Brokers: strings.Split(brokers, ","), Group: "g", Topic: topic, Handler: handler,
			Log: zerolog.Nop(), Assigned: assigned, Revoked: revoked}, assigned, revoked
	}
	first, firstAssigned, firstRevoked := newMember()
	run(t, first)
	waitFor(t, "the first member to read everything", func() bool { return got.total.Load() == parts*5 })
	if n := testutil.ToFloat64(firstAssigned); n != parts {
		t.Fatalf("first member was assigned %v partitions, want %d", n, parts)
	}

	second, secondAssigned, _ := newMember()
	run(t, second)
	waitFor(t, "the second member to get its share", func() bool { return testutil.ToFloat64(secondAssigned) == parts/2 })
	if n := testutil.ToFloat64(firstRevoked); n != parts/2 {
		t.Fatalf("first member gave up %v partitions in the rebalance, want only the %d that moved", n, parts/2)
	}
	if n := testutil.ToFloat64(firstAssigned); n != parts {
		t.Fatalf("first member was assigned %v partitions in all, want %d (it kept its half, nothing re-assigned)", n, parts)
	}
	// The moved partitions continue from the committed offsets: new records
	// are read once, in order, by whichever member owns them now.
	produce(t, brokers, parts, 5)
	waitFor(t, "the new records", func() bool { return got.total.Load() >= parts*10 })
	time.Sleep(200 * time.Millisecond)
	got.mu.Lock()
	defer got.mu.Unlock()
	for p, offsets := range got.parts {
		for i, o := range offsets {
			if o != int64(i) {
				t.Fatalf("partition %d was handed offsets %v, want 0..9 once each in order", p, offsets)
			}
		}
	}
}

// A partition whose records keep failing waits for its retry alone: the
// other partitions go on.
func TestFailingPartitionHoldsBackOnlyItself(t *testing.T) {
	const parts = 3
	brokers := broker(t, parts)
	produce(t, brokers, parts, 4)
	var got seen
	got.parts = map[int32][]int64{}
	var heal atomic.Bool
	lag := prometheus.NewGauge(prometheus.GaugeOpts{Name: "lag"})
	c := &kafka.Consumer{Brokers: strings.Split(brokers, ","), Group: "g", Topic: topic, Log: zerolog.Nop(),
		Backoff: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Lag: lag,
		Handler: func(_ context.Context, rs []kafka.Record) (int, error) {
			if rs[0].Partition == 0 && !heal.Load() {
				return 0, errors.New("database unreachable")
			}
			got.add(rs)
			return len(rs), nil
		}}
	run(t, c)
	waitFor(t, "partitions 1 and 2", func() bool { return got.total.Load() == 8 })
	got.mu.Lock()
	if len(got.parts[0]) != 0 {
		t.Fatalf("partition 0 was handled while failing: %v", got.parts[0])
	}
	got.mu.Unlock()
	waitFor(t, "the lag of the failing partition", func() bool { return testutil.ToFloat64(lag) == 4 })
	heal.Store(true)
	waitFor(t, "partition 0 after it heals", func() bool { return got.total.Load() == 12 })
	waitFor(t, "no lag", func() bool { return testutil.ToFloat64(lag) == 0 })
}

// Stopping finishes the batch in hand, commits it and leaves the group: a
// member started afterwards is handed nothing already done.
func TestStopFinishesTheBatchInHandAndCommitsIt(t *testing.T) {
	const parts = 2
	brokers := broker(t, parts)
	produce(t, brokers, parts, 3)
	var handled atomic.Int64
	inHand := make(chan struct{}, parts)
	slow := &kafka.Consumer{Brokers: strings.Split(brokers, ","), Group: "g", Topic: topic, Log: zerolog.Nop(),
		Handler: func(ctx context.Context, rs []kafka.Record) (int, error) {
			inHand <- struct{}{}
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			handled.Add(int64(len(rs)))
			return len(rs), nil
		}}
	stop := run(t, slow)
	<-inHand
	stop() // while a batch is in hand
	if n := handled.Load(); n == 0 {
		t.Fatal("the batch in hand was abandoned on stop")
	}
	if got := testkit.CommittedOffsets(t, brokers, "g"); got != handled.Load() {
		t.Fatalf("committed %d offsets on stop, want the %d handled", got, handled.Load())
	}

	var again atomic.Int64
	next := &kafka.Consumer{Brokers: strings.Split(brokers, ","), Group: "g", Topic: topic, Log: zerolog.Nop(),
		Handler: func(_ context.Context, rs []kafka.Record) (int, error) {
			again.Add(int64(len(rs)))
			return len(rs), nil
		}}
	run(t, next)
	waitFor(t, "the rest", func() bool { return handled.Load()+again.Load() == parts*3 })
	time.Sleep(300 * time.Millisecond)
	if total := handled.Load() + again.Load(); total != parts*3 {
		t.Fatalf("%d records handled in all, want each of the %d once", total, parts*3)
	}
}
