package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
)

// drainResult is scenario 4.
type drainResult struct {
	Events int `json:"events"`
	// Replicas is recur-task's rate with 1 and 2 replicas, from its first
	// next occurrence committed to its last.
	Replicas []drainRun `json:"replicas"`
	// BareGroup is a bare consumer group reading (and marking) the same
	// number of records; PgxBatches is pgx writing the same rows (the
	// occurrences, their outbox rows, the processed events, the parents'
	// stamps) in transactions of drainBatch.
	BareGroup  float64 `json:"bare_consumer_group_records_per_s"`
	PgxBatches float64 `json:"pgx_batches_events_per_s"`
}

type drainRun struct {
	Replicas  int     `json:"replicas"`
	Rate      float64 `json:"events_per_s"`
	FirstInMs float64 `json:"first_occurrence_after_start_ms"`
}

// Scenario 4's shape.
const (
	backlogEvents = 50000
	backlogUsers  = 500
	drainBatch    = 500
)

// backlogDrain is scenario 4: completions of backlogEvents recurring tasks
// wait on task-events while recur-task is stopped; then 1, and in a second
// run 2, recur-task replicas start and drain them. recur-task's own
// process stays stopped afterwards.
func backlogDrain(ctx context.Context, s *system, rep *report) error {
	if s.recur != nil {
		s.recur.Stop() // leaves the group with its offsets at the end of the topic
		s.recur = nil
	}
	r := &drainResult{Events: backlogEvents}
	for _, replicas := range []int{1, 2} {
		run, err := drainWith(ctx, s, replicas)
		if err != nil {
			return err
		}
		r.Replicas = append(r.Replicas, run)
		log("  recur-task ×%d: %.0f events/s (first occurrence %.0f ms after start)", replicas, run.Rate, run.FirstInMs)
	}
	var err error
	if r.BareGroup, err = bareGroup(ctx, s); err != nil {
		return err
	}
	if r.PgxBatches, err = pgxOccurrences(ctx, s); err != nil {
		return err
	}
	log("  bare consumer group: %.0f records/s; pgx batches: %.0f events/s", r.BareGroup, r.PgxBatches)
	rep.Drain = r
	return nil
}

// completedParents stores backlogEvents completed daily tasks of
// backlogUsers new users and returns them.
func completedParents(ctx context.Context, s *system) ([]task.Task, []string, error) {
	run := uuid.NewString()[:8]
	users := make([]string, backlogUsers)
	for u := range users {
		users[u] = fmt.Sprintf("bench-drain-%s-%d", run, u)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	title, rec, tz, due := "Water the plants", "daily", "Europe/Berlin", now.Add(-time.Hour).Format(time.RFC3339)
	parents := make([]task.Task, backlogEvents)
	rows := make([][]any, backlogEvents)
	for i := range parents {
		t, err := task.Draft{Title: &title, RecurringType: &rec, Timezone: &tz, DueDate: &due}.
			Build(uuid.NewString(), users[i%backlogUsers], now)
		if err != nil {
			return nil, nil, err
		}
		t.Status, t.CompletedAt = task.StatusDone, &now
		parents[i], rows[i] = t, taskRow(t)
	}
	_, err := s.db.CopyFrom(ctx, pgx.Identifier{"tasks"}, taskColumns, pgx.CopyFromRows(rows))
	return parents, users, err
}

// drainWith queues the completions of new parents, starts replicas
// recur-task processes and times them until every next occurrence is
// stored.
func drainWith(ctx context.Context, s *system, replicas int) (drainRun, error) {
	r := drainRun{Replicas: replicas}
	parents, users, err := completedParents(ctx, s)
	if err != nil {
		return r, err
	}
	completed := make([]cloudevents.Event, len(parents))
	for i, t := range parents {
		if completed[i], err = events.ForTask(events.TypeTaskCompleted, "complete-task", t, *t.CompletedAt); err != nil {
			return r, err
		}
	}
	if err := produce(s.brokers, events.TopicTaskEvents, completed); err != nil {
		return r, err
	}
	var procs []*harness.Proc
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	start := time.Now()
	for i := range replicas {
		// Only the consumer creates occurrences here, not the reconciler.
		p, debug, err := s.start("recur-task", fmt.Sprintf("recur-task-drain-%d-%d", replicas, i), map[string]string{"RECONCILE_EVERY": "0"})
		if err != nil {
			return r, err
		}
		procs = append(procs, p)
		if i == 0 {
			s.prof.startOne(ctx, fmt.Sprintf("drain-%d", replicas), "recur-task", debug, 5*time.Second)
		}
	}
	defer s.prof.wait()
	var first time.Time
	for {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE user_id = ANY($1) AND parent_task_id IS NOT NULL`,
			users).Scan(&n); err != nil {
			return r, err
		}
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		if n >= len(parents) {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return r, fmt.Errorf("recur-task ×%d stored %d of %d occurrences in 10 minutes", replicas, n, len(parents))
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Rate = float64(len(parents)) / time.Since(first).Seconds()
	r.FirstInMs = ms(first.Sub(start))
	return r, nil
}

// produce sends evts to topic as the relay does (structured CloudEvents
// keyed by user).
func produce(brokers []string, topic string, evts []cloudevents.Event) error {
	keys, bodies := make([]string, len(evts)), make([][]byte, len(evts))
	for i, e := range evts {
		var err error
		if bodies[i], err = e.MarshalJSON(); err != nil {
			return err
		}
		keys[i], _ = e.Extensions()[events.ExtPartitionKey].(string)
	}
	_, err := sendStructured(brokers, topic, keys, bodies, 1000)
	return err
}

// sendStructured sends bodies (structured CloudEvents) keyed by keys to
// topic in batches of size, each once the one before was acknowledged,
// and returns how long that took.
func sendStructured(brokers []string, topic string, keys []string, bodies [][]byte, size int) (time.Duration, error) {
	p, err := kafka.NewPublisher(brokers, "bench-send")
	if err != nil {
		return 0, err
	}
	defer p.Close()
	start := time.Now()
	for from := 0; from < len(bodies); from += size {
		to := min(from+size, len(bodies))
		topics := make([]string, to-from)
		for i := range topics {
			topics[i] = topic
		}
		for _, err := range p.PublishStructured(context.Background(), topics, keys[from:to], bodies[from:to]) {
			if err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start), nil
}

// bareGroup is scenario 4's first baseline: a consumer group of one
// member reading backlogEvents completions from a topic of their own,
// marking each, from its first record to its last.
func bareGroup(ctx context.Context, s *system) (float64, error) {
	topic := "bench-drain-" + uuid.NewString()[:8]
	if err := kafka.EnsureTopics(zerolog.Nop(), s.brokers, 3, topic); err != nil {
		return 0, err
	}
	evts := make([]cloudevents.Event, backlogEvents)
	now := time.Now().UTC()
	title := "Water the plants"
	for i := range evts {
		t, err := task.Draft{Title: &title}.Build(uuid.NewString(), fmt.Sprint("bare-", i%backlogUsers), now)
		if err != nil {
			return 0, err
		}
		t.Status, t.CompletedAt = task.StatusDone, &now
		if evts[i], err = events.ForTask(events.TypeTaskCompleted, "complete-task", t, now); err != nil {
			return 0, err
		}
	}
	if err := produce(s.brokers, topic, evts); err != nil {
		return 0, err
	}
	group, err := sarama.NewConsumerGroup(s.brokers, "bench-bare-"+topic, kafka.Config("bench-bare"))
	if err != nil {
		return 0, err
	}
	defer group.Close()
	h := &countingHandler{want: backlogEvents, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			_ = group.Consume(ctx, []string{topic}, h)
		}
	}()
	select {
	case <-h.done:
	case <-ctx.Done():
		return 0, fmt.Errorf("bare consumer group: %d of %d records in 5 minutes", h.n, backlogEvents)
	}
	return float64(backlogEvents) / h.last.Sub(h.first).Seconds(), nil
}

// countingHandler marks and counts records until want arrived.
type countingHandler struct {
	mu          sync.Mutex
	want, n     int
	first, last time.Time
	done        chan struct{}
}

func (h *countingHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *countingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *countingHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		s.MarkMessage(m, "")
		h.count()
	}
	return nil
}

func (h *countingHandler) count() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		h.first = time.Now()
	}
	h.n++
	if h.n == h.want {
		h.last = time.Now()
		close(h.done)
	}
}

// pgxOccurrences is scenario 4's second baseline: pgx writing what
// recur-task writes for backlogEvents completions (the processed event,
// the occurrence, its outbox row, the parent's stamp) in transactions of
// drainBatch events, with no broker and no logic.
func pgxOccurrences(ctx context.Context, s *system) (float64, error) {
	parents, _, err := completedParents(ctx, s)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for from := 0; from < len(parents); from += drainBatch {
		batch := parents[from:min(from+drainBatch, len(parents))]
		processed, children, outbox := make([][]any, len(batch)), make([][]any, len(batch)), make([][]any, len(batch))
		ids := make([]string, len(batch))
		for i, p := range batch {
			c := p
			parentID, due := p.ID, p.DueDate.Add(24*time.Hour)
			c.ID, c.Status, c.CompletedAt, c.ParentTaskID, c.DueDate = uuid.NewString(), task.StatusPending, nil, &parentID, &due
			e, err := events.ForTask(events.TypeTaskCreated, "recur-task", c, start)
			if err != nil {
				return 0, err
			}
			body, _ := e.MarshalJSON()
			processed[i] = []any{"bench-pgx", uuid.NewString()}
			children[i] = taskRow(c)
			outbox[i] = []any{e.ID(), events.TopicTaskEvents, c.UserID, body, start}
			ids[i] = p.ID
		}
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"processed_events"}, []string{"consumer", "event_id"}, pgx.CopyFromRows(processed)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE tasks SET recurred_at = now() WHERE id = ANY($1)`, ids); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tasks"}, taskColumns, pgx.CopyFromRows(children)); err != nil {
				return err
			}
			// Stored as published: the baseline measures the writes, not the relay.
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"event_id", "topic", "partition_key", "event", "published_at"},
				pgx.CopyFromRows(outbox))
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	return float64(len(parents)) / time.Since(start).Seconds(), nil
}
