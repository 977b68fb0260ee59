package kafka

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/todoevents/todo/shared/backoff"
)

// Handler processes records of one partition, in order. It returns how
// many of them, from the first, have their effects committed (or were
// dead-lettered), and an error unless that is all of them; the rest are
// retried.
type Handler func(ctx context.Context, records []Record) (done int, err error)

// DefaultMaxBatch is the most records handed to a Handler at once.
const DefaultMaxBatch = 500

// Consumer runs a consumer group over one topic, processing each partition
// strictly in order and marking a record only after its handler succeeded,
// so a crash never skips an unprocessed record. The records of a partition
// already fetched are handed to Handler together. Partitions are processed
// concurrently, each by its own worker.
type Consumer struct {
	Brokers    []string
	Group      string
	Topic      string
	Partitions int32 // for creating Topic when it is missing
	Handler    Handler
	MaxBatch   int // DefaultMaxBatch when 0
	Log        zerolog.Logger
	Backoff    time.Duration // first retry delay (100 ms); doubles up to MaxDelay (10 s)
	MaxDelay   time.Duration
	Retries    prometheus.Counter // failed attempts (optional)
	Assigned   prometheus.Counter // partitions this member was given in rebalances (optional)
	Revoked    prometheus.Counter // partitions this member handed over or lost (optional)
	Lag        prometheus.Gauge   // records of this member's partitions not handled yet (optional)
}

// Run consumes until ctx ends, then commits marked offsets and leaves the
// group. While the brokers cannot be reached it keeps trying.
func (c *Consumer) Run(ctx context.Context) error {
	retry := backoff.Backoff{Min: c.Backoff, Max: c.MaxDelay}
	for ctx.Err() == nil {
		err := EnsureTopics(c.Log, c.Brokers, max(c.Partitions, 1), c.Topic)
		if err == nil {
			err = c.consume(ctx)
		}
		if err == nil || ctx.Err() != nil {
			return nil
		}
		delay := retry.Next()
		c.Log.Warn().Err(err).Dur("retry_in", delay).Msg("cannot reach Kafka; retrying")
		backoff.Sleep(ctx, delay)
	}
	return nil
}

// consume runs one group member until ctx ends or the client fails. Each
// assigned partition gets a worker of its own, so a partition whose events
// wait for a retry holds back only itself; rebalancing is cooperative
// (incremental): when a member joins or leaves, only the partitions that
// move stop, and each is committed and handed over once its worker has
// finished the batch in hand.
func (c *Consumer) consume(ctx context.Context) error {
	m := &member{c: c, parts: map[int32]*partitionWorker{}}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.Group),
		kgo.DialTimeout(5*time.Second),
		kgo.ConsumerGroup(c.Group),
		kgo.ConsumeTopics(c.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		// A member that dies is out of the group after 10 s, and its
		// partitions move; a rebalance waits at most 30 s for a member.
		kgo.SessionTimeout(10*time.Second),
		kgo.HeartbeatInterval(time.Second),
		kgo.RebalanceTimeout(30*time.Second),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(m.assigned),
		kgo.OnPartitionsRevoked(m.revoked),
		kgo.OnPartitionsLost(m.lost),
	)
	if err != nil {
		return fmt.Errorf("kafka consumer group: %w", err)
	}
	m.cl = cl
	defer m.leave()
	for {
		fetches := cl.PollRecords(ctx, 0)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		failed := false
		fetches.EachError(func(topic string, partition int32, err error) {
			failed = true
			c.Log.Warn().Err(err).Str("topic", topic).Int32("partition", partition).Msg("Kafka fetch failed; retrying")
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			m.dispatch(p.Partition, p.HighWatermark, p.Records)
		})
		cl.AllowRebalance()
		if failed && fetches.NumRecords() == 0 {
			// A poll that only failed returns at once: wait before the
			// next, so a lasting failure is a warning a second, not a spin.
			backoff.Sleep(ctx, time.Second)
		}
	}
}

// leaveWithin bounds each step of leaving: the last commit, then the
// LeaveGroup request (a rebalance in progress, say one waiting for a dead
// member's session to expire, must not hold a stopping process past its
// grace period).
const leaveWithin = 5 * time.Second

// leave stops every worker after its batch in hand, commits what they
// marked and leaves the group, so its partitions move at once rather than
// at the session timeout.
func (m *member) leave() {
	m.stop(m.owned(), true)
	ctx, cancel := context.WithTimeout(context.Background(), leaveWithin)
	defer cancel()
	if err := m.cl.LeaveGroupContext(ctx); err != nil {
		m.c.Log.Warn().Err(err).Msg("leaving the consumer group did not finish; the group drops this member at its session timeout")
	}
	m.cl.AllowRebalance()
	m.cl.Close()
}

// member is one consumer-group member's partition workers.
type member struct {
	c     *Consumer
	cl    *kgo.Client
	mu    sync.Mutex
	parts map[int32]*partitionWorker
}

// queueLimit is how many fetched records may wait for one partition's
// worker before its fetching pauses (and resumes once they are done).
func (m *member) queueLimit() int { return 4 * m.c.maxBatch() }

func (m *member) assigned(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	added := 0
	for _, p := range parts[m.c.Topic] {
		if _, ok := m.parts[p]; ok {
			continue
		}
		added++
		hard, cancel := context.WithCancel(ctx)
		soft, finish := context.WithCancel(hard)
		w := &partitionWorker{m: m, partition: p, cancel: cancel, finish: finish, wake: make(chan struct{}, 1),
			done: make(chan struct{})}
		w.next.Store(-1)
		m.parts[p] = w
		go w.run(hard, soft)
	}
	if m.c.Assigned != nil {
		m.c.Assigned.Add(float64(added))
	}
}

// revoked stops the workers of partitions that move to another member and
// commits what they finished, before the partitions are handed over.
func (m *member) revoked(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	m.stop(parts[m.c.Topic], true)
}

// lost stops the workers of partitions this member no longer owns (its
// session expired); committing for them would be refused.
func (m *member) lost(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	m.stop(parts[m.c.Topic], false)
}

func (m *member) owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := make([]int32, 0, len(m.parts))
	for p := range m.parts {
		ps = append(ps, p)
	}
	return ps
}

// finishGrace is how long a stopping worker may take to finish the batch in
// hand before its handler's context is cancelled (its transaction then
// rolls back and the batch is read again by the partition's next owner).
const finishGrace = 5 * time.Second

// stop ends the workers of parts, each after the batch in hand (a retry's
// wait ends at once), then commits what was marked when commit.
func (m *member) stop(parts []int32, commit bool) {
	m.mu.Lock()
	var stopping []*partitionWorker
	for _, p := range parts {
		if w := m.parts[p]; w != nil {
			delete(m.parts, p)
			w.finish()
			stopping = append(stopping, w)
		}
	}
	m.mu.Unlock()
	grace := time.NewTimer(finishGrace)
	defer grace.Stop()
	for _, w := range stopping {
		select {
		case <-w.done:
		case <-grace.C:
			for _, w := range stopping {
				w.cancel()
			}
			<-w.done
		}
		w.cancel()
	}
	if len(stopping) == 0 {
		return
	}
	m.reportLag()
	if m.c.Revoked != nil {
		m.c.Revoked.Add(float64(len(stopping)))
	}
	// Paused partitions stay paused across rebalances; one that comes back
	// must be fetched again.
	m.cl.ResumeFetchPartitions(map[string][]int32{m.c.Topic: parts})
	if !commit {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveWithin)
	defer cancel()
	if err := m.cl.CommitMarkedOffsets(ctx); err != nil {
		m.c.Log.Warn().Err(err).Msg("commit on hand-over failed; the new owner re-reads from the last commit (duplicates are dropped)")
	}
}

// dispatch queues a partition's fetched records for its worker, pausing
// the partition's fetching while its worker is far behind, and notes the
// partition's high watermark for the lag.
func (m *member) dispatch(partition int32, highWater int64, records []*kgo.Record) {
	m.mu.Lock()
	w := m.parts[partition]
	m.mu.Unlock()
	if w == nil {
		return // revoked meanwhile: not marked, so the next owner reads them
	}
	w.highWater.Store(highWater)
	if len(records) > 0 && w.push(records) >= m.queueLimit() {
		w.pause()
	}
	m.reportLag()
}

// reportLag sets Lag to the records of the owned partitions up to their
// high watermarks that are not handled yet (a partition fetched nothing
// from yet counts none).
func (m *member) reportLag() {
	if m.c.Lag == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var lag int64
	for _, w := range m.parts {
		if hw, next := w.highWater.Load(), w.next.Load(); next >= 0 && hw > next {
			lag += hw - next
		}
	}
	m.c.Lag.Set(float64(lag))
}

// partitionWorker hands one partition's records to the Handler in order.
type partitionWorker struct {
	m         *member
	partition int32
	finish    context.CancelFunc // take no more batches
	cancel    context.CancelFunc // and abandon the one in hand
	wake      chan struct{}
	done      chan struct{}

	mu     sync.Mutex
	queue  []*kgo.Record
	paused bool

	// highWater is the partition's last known high watermark; next the
	// offset after the last record handled (-1 before the first fetch).
	highWater, next atomic.Int64
}

func (w *partitionWorker) push(records []*kgo.Record) int {
	w.next.CompareAndSwap(-1, records[0].Offset)
	w.mu.Lock()
	w.queue = append(w.queue, records...)
	n := len(w.queue)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return n
}

func (w *partitionWorker) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.paused {
		w.paused = true
		w.m.cl.PauseFetchPartitions(map[string][]int32{w.m.c.Topic: {w.partition}})
	}
}

// take removes up to most queued records, resuming the partition's
// fetching once the queue is empty again.
func (w *partitionWorker) take(most int) []*kgo.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(most, len(w.queue))
	batch := w.queue[:n:n]
	w.queue = w.queue[n:]
	if len(w.queue) == 0 {
		w.queue = nil
		if w.paused {
			w.paused = false
			w.m.cl.ResumeFetchPartitions(map[string][]int32{w.m.c.Topic: {w.partition}})
		}
	}
	return batch
}

// run handles batches with ctx until soft ends.
func (w *partitionWorker) run(ctx, soft context.Context) {
	defer close(w.done)
	most := w.m.c.maxBatch()
	records := make([]Record, 0, most)
	for {
		select {
		case <-soft.Done():
			return
		case <-w.wake:
		}
		for {
			batch := w.take(most)
			if len(batch) == 0 {
				break
			}
			records = records[:0]
			for _, r := range batch {
				records = append(records, recordOfKgo(r))
			}
			handled := w.handleWithRetry(ctx, soft, batch, records)
			w.m.reportLag()
			if !handled {
				return // stopping; unmarked records are read again by the next owner
			}
		}
	}
}

func (c *Consumer) maxBatch() int {
	if c.MaxBatch <= 0 {
		return DefaultMaxBatch
	}
	return c.MaxBatch
}

// handleWithRetry hands batch to the handler (with ctx), marking what it
// handled for the next commit, and retries the rest with exponential
// backoff until all is handled or soft ends. It reports whether the whole
// batch was handled.
func (w *partitionWorker) handleWithRetry(ctx, soft context.Context, batch []*kgo.Record, records []Record) bool {
	h := w.m.c
	retry := backoff.Backoff{Min: h.Backoff, Max: h.MaxDelay}
	for attempt := 1; ; attempt++ {
		done, err := h.Handler(ctx, records)
		done = min(max(done, 0), len(batch))
		if err == nil {
			done = len(batch)
		}
		if done > 0 {
			w.m.cl.MarkCommitRecords(batch[done-1])
			w.next.Store(batch[done-1].Offset + 1)
			batch, records = batch[done:], records[done:]
		}
		if len(batch) == 0 {
			return true
		}
		if h.Retries != nil {
			h.Retries.Inc()
		}
		delay := retry.Next()
		msg := batch[0]
		h.Log.Warn().Err(err).Int("attempt", attempt).Str("topic", msg.Topic).
			Int32("partition", msg.Partition).Int64("offset", msg.Offset).Int("waiting", len(batch)).Dur("retry_in", delay).
			Msg("event not processed; will retry")
		if !backoff.Sleep(soft, delay) {
			return false
		}
	}
}
