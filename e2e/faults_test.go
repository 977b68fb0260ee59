package e2e_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/testkit"
)

func TestBrokerDown(t *testing.T) {
	items := seedRecurring(t, 30, 6)
	sys.kafka.Stop()
	restarted := false
	defer func() {
		if !restarted {
			_ = sys.kafka.Start()
		}
	}()
	completeAll(t, items) // every completion answers 200 with the broker down
	var done int
	_ = sys.db.QueryRow(context.Background(), `SELECT count(*) FROM tasks WHERE id = ANY($1) AND status = 'done'`, ids(items)).Scan(&done)
	if done != len(items) {
		t.Fatalf("%d of %d completions stored", done, len(items))
	}
	if have, _ := counts(t, ids(items)); have != 0 {
		t.Fatalf("%d occurrences appeared with the broker down", have)
	}
	if err := sys.kafka.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	took := waitChildren(t, ids(items), 2*time.Minute)
	report(t, "broker stopped, %d completions answered 200 and stored, broker started: %d next occurrences, 0 duplicates, 0 lost (%.1fs after restart)",
		len(items), len(items), took.Seconds())
}

func TestBrokerRestartMidStream(t *testing.T) {
	items := seedRecurring(t, 60, 6)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(300 * time.Millisecond)
		sys.kafka.Stop()
		if err := sys.kafka.Start(); err != nil {
			t.Error(err)
		}
	}()
	for i := range items {
		completeAll(t, items[i:i+1])
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	took := waitChildren(t, ids(items), 2*time.Minute)
	report(t, "broker restarted during a stream of %d completions: %d next occurrences, 0 duplicates, 0 lost (%.1fs)",
		len(items), len(items), took.Seconds())
}

func TestNetworkFaults(t *testing.T) {
	faults := []struct {
		name, kind, attributes string
		hold                   time.Duration
	}{
		{"latency 300ms", "latency", `{"latency":300,"jitter":100}`, 0},
		{"connection reset", "reset_peer", `{"timeout":0}`, 3 * time.Second},
		{"timeout (black hole)", "timeout", `{"timeout":0}`, 3 * time.Second},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			items := seedRecurring(t, 20, 4)
			if err := sys.proxy.AddToxic("fault", f.kind, f.attributes); err != nil {
				t.Fatal(err)
			}
			defer sys.proxy.Heal()
			completeAll(t, items)
			if f.hold > 0 {
				time.Sleep(f.hold)
				sys.proxy.Heal()
			}
			took := waitChildren(t, ids(items), 2*time.Minute)
			sys.proxy.Heal()
			report(t, "%s between the functions and Kafka, %d completions: %d next occurrences, 0 duplicates, 0 lost (%.1fs)",
				f.name, len(items), len(items), took.Seconds())
		})
	}
}

func TestDatabaseDown(t *testing.T) {
	items := seedRecurring(t, 20, 4)
	evts := completedEvents(t, items)
	pub := publisher(t)
	group := "recur-task"
	before := waitCaughtUp(t, group)
	retriesBefore := recurMetric(t, "todo_events_retries_total")

	startDatabase := stopDatabase(t)
	publishAll(t, pub, evts, 1)
	// The HTTP functions answer 503 JSON quickly instead of hanging.
	for _, c := range []struct{ fn, method, path, body string }{
		{"read-tasks", "GET", "/api/" + items[0].user + "/tasks", ""},
		{"create-task", "POST", "/api/" + items[0].user + "/tasks", `{"title":"during outage"}`},
		{"complete-task", "PATCH", "/api/" + items[0].user + "/tasks/" + items[0].id + "/complete", ""},
	} {
		start := time.Now()
		code, body, err := call(c.fn, c.method, c.path, items[0].user, c.body)
		took := time.Since(start)
		if err != nil || code != http.StatusServiceUnavailable || took > 5*time.Second {
			t.Fatalf("%s with the database down: %d %s %v in %v, want 503 within 5s", c.fn, code, body, err, took)
		}
		report(t, "%s answered %d in %v with the database down", c.fn, code, took.Round(time.Millisecond))
	}
	time.Sleep(3 * time.Second)
	if after := committedOffsets(t, group); after != before {
		t.Fatalf("offsets advanced from %d to %d while the database was down", before, after)
	}
	retries := recurMetric(t, "todo_events_retries_total") - retriesBefore
	if retries == 0 {
		t.Fatal("recur-task did not retry while the database was down")
	}
	startDatabase()
	took := waitChildren(t, ids(items), 2*time.Minute)
	report(t, "database stopped while %d events arrived: offsets not committed, %.0f retries with backoff; database started: %d next occurrences, 0 duplicates, 0 lost (%.1fs)",
		len(evts), retries, len(items), took.Seconds())
}

func TestRecurTaskKilledWhileDraining(t *testing.T) {
	stopRecur(t)
	defer ensureRecur(t, 2)
	items := seedRecurring(t, 400, 20)
	completeAll(t, items)
	kills, progress := 0, []int{}
	for i := 0; i < 5; i++ {
		before, _ := counts(t, ids(items))
		if err := sys.startRecur(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random point once it is draining.
		deadline := time.Now().Add(20 * time.Second)
		for have, _ := counts(t, ids(items)); have == before && have < len(items) && time.Now().Before(deadline); have, _ = counts(t, ids(items)) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		sys.recur[0].Kill()
		sys.recur = nil
		kills++
		have, _ := counts(t, ids(items))
		progress = append(progress, have)
	}
	ensureRecur(t, 2)
	took := waitChildren(t, ids(items), 2*time.Minute)
	var handled int
	err := sys.db.QueryRow(context.Background(), `SELECT count(*) FROM processed_events p JOIN outbox o ON o.event_id = p.event_id
		WHERE o.event->>'type' = 'com.todo.task.completed' AND o.event->>'subject' = ANY($1)`, ids(items)).Scan(&handled)
	if err != nil || handled != len(items) {
		t.Fatalf("%d events recorded as processed, want %d (%v)", handled, len(items), err)
	}
	report(t, "backlog of %d events, recur-task SIGKILLed %d times at random points while draining (occurrences made by each kill: %v), restarted: %d next occurrences, each event processed once, 0 duplicates, 0 lost (%.1fs)",
		len(items), kills, progress, len(items), took.Seconds())
}

func TestDuplicateAndParallelDelivery(t *testing.T) {
	items := seedRecurring(t, 30, 5)
	evts := completedEvents(t, items)
	env := map[string]string{}
	for k, v := range sys.env {
		env[k] = v
	}
	env["KAFKA_CONSUMER_GROUP"] = "recur-task-second-group"
	saved := sys.env
	sys.env = env
	err := sys.startRecur()
	sys.env = saved
	if err != nil {
		t.Fatal(err)
	}
	extra := sys.recur[len(sys.recur)-1]
	defer func() { extra.Stop(); sys.recur = sys.recur[:len(sys.recur)-1] }()
	publishAll(t, publisher(t), evts, 3)
	took := waitChildren(t, ids(items), time.Minute)
	report(t, "%d events each published 3 times and consumed by 2 consumer groups at once (%d deliveries): %d next occurrences, 0 duplicates (%.1fs)",
		len(evts), len(evts)*3*2, len(items), took.Seconds())
}

func TestPoisonEventsAreDeadLettered(t *testing.T) {
	items := seedRecurring(t, 1, 1)
	user := items[0].user
	pub := publisher(t)
	deadBefore := recurMetric(t, "todo_events_dead_lettered_total")
	poison := poisonRecords(user)
	testkit.ProduceRaw(t, sys.proxy.Addr(), poison...)
	// A completion of a task that does not exist (stale, not dead-lettered),
	// then the valid event, behind the poison on the same partition.
	publishAll(t, pub, append([]cloudevents.Event{ghostCompletion(t, user)}, completedEvents(t, items)...), 1)
	took := waitChildren(t, ids(items), time.Minute)
	var dlq []dlqRecord
	deadline := time.Now().Add(30 * time.Second)
	for len(dlq) < len(poison) && time.Now().Before(deadline) {
		dlq = deadLetters(t, user)
		time.Sleep(200 * time.Millisecond)
	}
	if len(dlq) != len(poison) {
		t.Fatalf("%d dead letters for %d poison records", len(dlq), len(poison))
	}
	for _, d := range dlq {
		if d.reason == "" {
			t.Fatalf("dead letter without a reason: %+v", d)
		}
	}
	if dead := recurMetric(t, "todo_events_dead_lettered_total") - deadBefore; dead != float64(len(poison)) {
		t.Fatalf("dead-letter counter rose by %.0f, want %d", dead, len(poison))
	}
	report(t, "%d poison records (not JSON, unknown type, missing fields) and a completion of an unknown task (stale) ahead of a valid event on one partition: %d dead-lettered with a reason, counted %d, the valid event processed (%.1fs)",
		len(poison), len(dlq), len(poison), took.Seconds())
}
