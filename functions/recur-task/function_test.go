package function

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// rig is a database, a broker and a way to start recur-task on them.
type rig struct {
	url, brokers string
	pub          *kafka.Publisher
	seeder       *store.Store
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{url: testkit.Database(t), brokers: testkit.Broker(t, 2)}
	var err error
	if r.pub, err = kafka.NewPublisher(strings.Split(r.brokers, ","), "test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.pub.Close() })
	r.seeder = testkit.Store(t, r.url)
	return r
}

// startWith starts recur-task on the rig's database with env overrides
// (no Kafka unless given); it stops when the test ends.
func (r *rig) startWith(t *testing.T, extra map[string]string) *RecurTask {
	t.Helper()
	f := New()
	if err := f.Start(context.Background(), testkit.Env(r.url, extra)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	return f
}

// completed stores a done recurring task of user and returns its
// task.completed event (queued in the outbox, which no relay reads here).
func (r *rig) completed(t *testing.T, user string) (cloudevents.Event, string) {
	t.Helper()
	return r.completedWithTitle(t, user, "Run")
}

func (r *rig) children(t *testing.T, id string) int {
	t.Helper()
	return testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM tasks WHERE parent_task_id = $1`, id)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, 15*time.Second, cond)
}

func TestPoisonRecordsAreDeadLetteredWithoutBlocking(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// With a relay: dead letters go through the outbox like every event.
	f := r.startWith(t, map[string]string{"KAFKA_BROKERS": r.brokers, "KAFKA_CONSUMER_GROUP": "recur-" + uuid.NewString()[:8]})
	user := testkit.User()
	key := sarama.StringEncoder(user)
	send := func(value string, headers ...sarama.RecordHeader) {
		testkit.ProduceRaw(t, r.brokers, &sarama.ProducerMessage{Topic: events.TopicTaskEvents, Key: key,
			Value: sarama.StringEncoder(value), Headers: headers})
	}
	ce := func(typ string) []sarama.RecordHeader {
		return []sarama.RecordHeader{{Key: []byte("ce_specversion"), Value: []byte("1.0")},
			{Key: []byte("ce_id"), Value: []byte(uuid.NewString())}, {Key: []byte("ce_source"), Value: []byte("/test")},
			{Key: []byte("ce_type"), Value: []byte(typ)}, {Key: []byte("content-type"), Value: []byte("application/json")}}
	}
	send("not a cloud event at all")
	send(`{"task_id":`, ce(events.TypeTaskCompleted)...)
	send(`{"event_type":"task-completed"}`, ce(events.TypeTaskCompleted)...)
	send(`{"x":1}`, ce("com.example.unknown")...)
	ghost, _ := events.ForTask(events.TypeTaskCompleted, "test", task.Task{ID: uuid.NewString(), UserID: user,
		CompletedAt: ptr(time.Now())}, time.Now())
	if err := r.pub.Publish(context.Background(), events.TopicTaskEvents, ghost); err != nil {
		t.Fatal(err)
	}
	created, _ := events.ForTask(events.TypeTaskCreated, "test", task.Task{ID: uuid.NewString(), UserID: user}, time.Now())
	if err := r.pub.Publish(context.Background(), events.TopicTaskEvents, created); err != nil {
		t.Fatal(err)
	}
	good, id := r.completed(t, user)
	if err := r.pub.Publish(context.Background(), events.TopicTaskEvents, good); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good event behind the poison ones", func() bool { return r.children(t, id) == 1 })
	var dlq []kafka.Record
	waitFor(t, "four dead letters", func() bool { dlq = testkit.ReadTopic(t, r.brokers, events.TopicDeadLetters); return len(dlq) >= 4 })
	if len(dlq) != 4 {
		t.Fatalf("%d dead letters, want 4 (a created event is skipped, a completion of an unknown task is stale)", len(dlq))
	}
	for _, m := range dlq {
		e := testkit.Event(t, m)
		if testkit.Extension(e, events.ExtDeadLetterWhy) == "" || testkit.Extension(e, events.ExtDeadLetterOrigin) == "" ||
			string(m.Key) != user || e.Type() != events.TypeDeadLettered ||
			m.Header("content-type") != "application/cloudevents+json" {
			t.Fatalf("dead letter without type, reason, origin or key: %v", m.Headers)
		}
	}
	body := testkit.Scrape(t, f.Metrics())
	for _, want := range []string{`todo_events_processed_total{outcome="created"} 1`, `todo_events_processed_total{outcome="stale"} 1`,
		"todo_events_dead_lettered_total 4"} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %s:\n%s", want, body)
		}
	}
}

func TestOffsetIsCommittedOnlyAfterTheDatabaseCommit(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	group := "recur-" + uuid.NewString()[:8]
	env := testkit.Env(r.url, map[string]string{"KAFKA_BROKERS": r.brokers, "KAFKA_CONSUMER_GROUP": group,
		"OUTBOX_RELAY": "false"})
	user := testkit.User()
	e, id := r.completed(t, user)

	// Block recur-task's transaction on a table lock, deliver the event,
	// then stop the consumer while its work is uncommitted.
	lockTx, err := r.seeder.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockTx.Exec(ctx, `LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	first := New()
	if err := first.Start(ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := r.pub.Publish(ctx, events.TopicTaskEvents, e); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recur-task blocked on the lock", func() bool {
		var n int
		_ = r.seeder.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%processed_events%'`).Scan(&n)
		return n > 0
	})
	_ = first.Stop(ctx)
	_ = lockTx.Rollback(ctx)
	if n := r.children(t, id); n != 0 {
		t.Fatalf("%d children before any commit", n)
	}
	if n := testkit.CommittedOffsets(t, r.brokers, group); n > 0 {
		t.Fatalf("offsets summing to %d committed before the database commit", n)
	}
	// A restarted consumer in the same group processes the event once.
	second := New()
	if err := second.Start(ctx, env); err != nil {
		t.Fatal(err)
	}
	defer second.Stop(ctx)
	waitFor(t, "event processed after restart", func() bool { return r.children(t, id) == 1 })
}

func ptr[T any](v T) *T { return &v }

// recur-task starts and is ready while no broker answers (its consumer
// keeps trying to join its group).
func TestStartsWhileKafkaIsDown(t *testing.T) {
	t.Parallel()
	testkit.Run(t, New(), testkit.Env(testkit.Database(t), map[string]string{"KAFKA_BROKERS": "127.0.0.1:1"}))
}
