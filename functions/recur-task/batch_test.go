package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// record is e as the relay writes it to Kafka (structured mode).
func record(t *testing.T, e cloudevents.Event, offset int64) kafka.Record {
	t.Helper()
	body, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := e.Extensions()[events.ExtPartitionKey].(string)
	return kafka.Record{Topic: events.TopicTaskEvents, Offset: offset, Key: []byte(key), Value: body,
		Headers: []kafka.Header{{Key: []byte("content-type"), Value: []byte("application/cloudevents+json")}}}
}

// completedWithTitle stores a done daily task of user titled title and
// returns its task.completed event (queued in the outbox, which no relay
// reads here).
func (r *rig) completedWithTitle(t *testing.T, user, title string) (cloudevents.Event, string) {
	t.Helper()
	daily := "daily"
	tk := testkit.Seed(t, r.seeder, user, task.Draft{Title: &title, RecurringType: &daily})
	var e cloudevents.Event
	_, err := r.seeder.UpdateTask(context.Background(), user, tk.ID, func(t *task.Task) (*cloudevents.Event, error) {
		now := app.Now()
		t.SetCompleted(true, now)
		var err error
		e, err = events.ForTask(events.TypeTaskCompleted, "test", *t, now)
		return &e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, tk.ID
}

// A batch of records: completions in one transaction, duplicates and
// stale events without effect, records that are not completions skipped,
// poison dead-lettered in place, and an event whose occurrence the
// database refuses isolated (dead-lettered) without losing the others.
func TestBatchIsolatesPoisonWithoutLosingTheOthers(t *testing.T) {
	t.Parallel()
	r := &rig{url: testkit.Database(t)}
	r.seeder = testkit.Store(t, r.url)
	ctx := context.Background()
	// Occurrences titled "refused" break a constraint of this database.
	if _, err := r.seeder.Pool.Exec(ctx, `ALTER TABLE tasks ADD CONSTRAINT refused_occurrence
		CHECK (title <> 'refused' OR parent_task_id IS NULL)`); err != nil {
		t.Fatal(err)
	}
	rec := &Recurrer{Occurrences: r.seeder, DeadLetters: r.seeder, Log: zerolog.Nop(), Metrics: metrics.New(), Now: app.Now}
	user := testkit.User()
	e1, id1 := r.completedWithTitle(t, user, "one")
	e2, id2 := r.completedWithTitle(t, user, "two")
	e3, id3 := r.completedWithTitle(t, user, "refused")
	e4, id4 := r.completedWithTitle(t, user, "four")
	stale, _ := events.ForTask(events.TypeTaskCompleted, "test", task.Task{ID: uuid.NewString(), UserID: user,
		CompletedAt: ptr(time.Now())}, time.Now())
	created, _ := events.ForTask(events.TypeTaskCreated, "test", task.Task{ID: uuid.NewString(), UserID: user}, time.Now())
	poison := kafka.Record{Topic: events.TopicTaskEvents, Offset: 3, Key: []byte(user), Value: []byte("not an event")}
	msgs := []kafka.Record{record(t, e1, 0), record(t, created, 1), record(t, e2, 2), poison,
		record(t, e2, 4), record(t, stale, 5), record(t, e3, 6), record(t, e4, 7)}

	done, err := rec.ConsumeBatch(ctx, msgs)
	if err != nil || done != len(msgs) {
		t.Fatalf("handled %d of %d: %v", done, len(msgs), err)
	}
	for id, want := range map[string]int{id1: 1, id2: 1, id3: 0, id4: 1} {
		if n := r.children(t, id); n != want {
			t.Fatalf("task %s: %d next occurrences, want %d", id, n, want)
		}
	}
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = $1`, events.TopicDeadLetters); n != 2 {
		t.Fatalf("%d dead letters, want 2 (the record that is no event, the refused occurrence)", n)
	}
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE event->>'type' = $1
		AND event->>'source' = $2`, events.TypeTaskCreated, "/functions/"+Name); n != 3 {
		t.Fatalf("%d next occurrences announced, want 3", n)
	}
	// Delivered again (a crash before the offsets were committed): nothing new.
	if done, err := rec.ConsumeBatch(ctx, msgs); err != nil || done != len(msgs) {
		t.Fatalf("redelivery: handled %d of %d: %v", done, len(msgs), err)
	}
	for _, id := range []string{id1, id2, id4} {
		if n := r.children(t, id); n != 1 {
			t.Fatalf("task %s: %d next occurrences after a redelivery", id, n)
		}
	}
}

// flaky fails every batch, and single events of one task while failing.
type flaky struct {
	*store.Store
	task    string
	failing bool
}

// errDown is what the store says when the database is away.
var errDown = apperr.New(apperr.Unavailable, "database unavailable, try again")

func (f *flaky) RecordOccurrences(context.Context, string, []contract.CompletionEvent) ([]contract.Handled, error) {
	return nil, errDown
}

func (f *flaky) RecordOccurrence(ctx context.Context, consumer, eventID, userID, taskID string, next contract.NextFunc) (contract.Outcome, *task.Task, error) {
	if f.failing && taskID == f.task {
		return "", nil, errDown
	}
	return f.Store.RecordOccurrence(ctx, consumer, eventID, userID, taskID, next)
}

// A transient failure inside a batch: the records before the one that
// failed are handled and counted, that one and the rest are retried.
func TestBatchReportsHowFarItGot(t *testing.T) {
	t.Parallel()
	r := &rig{url: testkit.Database(t)}
	r.seeder = testkit.Store(t, r.url)
	ctx := context.Background()
	user := testkit.User()
	e1, id1 := r.completedWithTitle(t, user, "one")
	e2, id2 := r.completedWithTitle(t, user, "two")
	e3, id3 := r.completedWithTitle(t, user, "three")
	occ := &flaky{Store: r.seeder, task: id2, failing: true}
	rec := &Recurrer{Occurrences: occ, DeadLetters: r.seeder, Log: zerolog.Nop(), Metrics: metrics.New(), Now: app.Now}
	msgs := []kafka.Record{record(t, e1, 0), record(t, e2, 1), record(t, e3, 2)}
	done, err := rec.ConsumeBatch(ctx, msgs)
	if !errors.Is(err, errDown) || done != 1 {
		t.Fatalf("handled %d (%v), want 1 and the failure", done, err)
	}
	if r.children(t, id1) != 1 || r.children(t, id2) != 0 || r.children(t, id3) != 0 {
		t.Fatal("only the record before the failure may have its occurrence")
	}
	occ.failing = false
	if done, err := rec.ConsumeBatch(ctx, msgs[done:]); err != nil || done != 2 {
		t.Fatalf("retry: handled %d: %v", done, err)
	}
	for _, id := range []string{id1, id2, id3} {
		if n := r.children(t, id); n != 1 {
			t.Fatalf("task %s: %d next occurrences", id, n)
		}
	}
}

// unencodable is the store, but the next occurrence of tasks titled title
// fails in an encoder (as an occurrence in year 10000 did), inside the
// store's transaction.
type unencodable struct {
	*store.Store
	title string
}

func (u unencodable) wrap(next contract.NextFunc) contract.NextFunc {
	return func(parent task.Task) (*task.Task, *cloudevents.Event, error) {
		if parent.Title == u.title {
			_, err := json.Marshal(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
			return nil, nil, fmt.Errorf("next occurrence: %w", err)
		}
		return next(parent)
	}
}

func (u unencodable) RecordOccurrences(ctx context.Context, consumer string, batch []contract.CompletionEvent) ([]contract.Handled, error) {
	for i := range batch {
		batch[i].Next = u.wrap(batch[i].Next)
	}
	return u.Store.RecordOccurrences(ctx, consumer, batch)
}

func (u unencodable) RecordOccurrence(ctx context.Context, consumer, eventID, userID, taskID string, next contract.NextFunc) (contract.Outcome, *task.Task, error) {
	return u.Store.RecordOccurrence(ctx, consumer, eventID, userID, taskID, u.wrap(next))
}

// What an encoder refuses is permanent: the event is dead-lettered and the
// records behind it handled (never retried forever, blocking the
// partition), and the reconciler skips that completion and reports it
// instead of failing its whole pass for everyone.
func TestAnEncodingFailureIsPermanent(t *testing.T) {
	t.Parallel()
	r := &rig{url: testkit.Database(t)}
	r.seeder = testkit.Store(t, r.url)
	ctx := context.Background()
	occ := unencodable{Store: r.seeder, title: "wedge"}
	rec := &Recurrer{Occurrences: occ, DeadLetters: r.seeder, Log: zerolog.Nop(), Metrics: metrics.New(), Now: app.Now}
	attacker, other := testkit.User(), testkit.User()
	e1, id1 := r.completedWithTitle(t, other, "one")
	bad, badID := r.completedWithTitle(t, attacker, "wedge")
	e2, id2 := r.completedWithTitle(t, attacker, "two")
	msgs := []kafka.Record{record(t, e1, 0), record(t, bad, 1), record(t, e2, 2)}
	if done, err := rec.ConsumeBatch(ctx, msgs); err != nil || done != len(msgs) {
		t.Fatalf("handled %d of %d: %v", done, len(msgs), err)
	}
	for id, want := range map[string]int{id1: 1, badID: 0, id2: 1} {
		if n := r.children(t, id); n != want {
			t.Fatalf("task %s: %d next occurrences, want %d", id, n, want)
		}
	}
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = $1`, events.TopicDeadLetters); n != 1 {
		t.Fatalf("%d dead letters, want 1", n)
	}
	// The reconciler meets the same completion (nothing stamped it) and a
	// lost one beside it.
	_, lostID := r.completedWithTitle(t, other, "lost")
	time.Sleep(20 * time.Millisecond)
	rc := &Reconciler{Completions: r.seeder, Recurrer: rec, Log: zerolog.Nop(), Grace: 10 * time.Millisecond, Retention: time.Hour}
	for pass := 1; pass <= 2; pass++ {
		created, err := rc.Reconcile(ctx)
		if err != nil || created != 2-pass {
			t.Fatalf("pass %d: created %d (%v), want %d", pass, created, err, 2-pass)
		}
		if got := testutil.ToFloat64(rec.Metrics.ReconcileSkipped); got != 1 {
			t.Fatalf("pass %d: %v completions skipped, want 1 (skipped once, then left out)", pass, got)
		}
	}
	if r.children(t, lostID) != 1 || r.children(t, badID) != 0 {
		t.Fatal("the reconciler did not recover the lost completion beside the one it cannot handle")
	}
}
