package function

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/testkit"
)

// The broker loses its topic with the completions on it (a restored
// cluster, an expired or deleted topic): the reconciler creates every
// missing occurrence once, and the original events, delivered after all,
// create none twice.
func TestReconcilerRecoversCompletionsTheBrokerLost(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const n = 12
	evts := make([]cloudevents.Event, n)
	ids := make([]string, n)
	for i := range n {
		evts[i], ids[i] = r.completed(t, testkit.User())
		if err := r.pub.Publish(context.Background(), events.TopicTaskEvents, evts[i]); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := sarama.NewClusterAdmin(strings.Split(r.brokers, ","), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.DeleteTopic(events.TopicTaskEvents); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // completions now older than the grace period
	f := r.startWith(t, map[string]string{"KAFKA_BROKERS": r.brokers, "KAFKA_CONSUMER_GROUP": "recur-" + uuid.NewString()[:8],
		"OUTBOX_RELAY": "false", "RECONCILE_EVERY": "100ms", "RECONCILE_GRACE": "10ms"})
	waitFor(t, "every lost completion reconciled", func() bool {
		for _, id := range ids {
			if r.children(t, id) != 1 {
				return false
			}
		}
		return true
	})
	// A new producer: the old one's sequence numbers belong to the lost log.
	pub, err := kafka.NewPublisher(strings.Split(r.brokers, ","), "redeliver")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, e := range evts {
		if err := pub.Publish(context.Background(), events.TopicTaskEvents, e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the original events handled", func() bool {
		return testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM processed_events WHERE event_id = ANY($1)`, eventIDs(evts)) == n
	})
	for _, id := range ids {
		if c := r.children(t, id); c != 1 {
			t.Fatalf("task %s has %d occurrences", id, c)
		}
	}
	if got := testutil.ToFloat64(f.Runtime().Metrics.Reconciled); got != n {
		t.Fatalf("reconciler counted %v, want %d", got, n)
	}
	if created, err := f.Reconciler.Reconcile(context.Background()); err != nil || created != 0 {
		t.Fatalf("a further pass created %d (%v)", created, err)
	}
}

func eventIDs(evts []cloudevents.Event) []string {
	out := make([]string, len(evts))
	for i, e := range evts {
		out[i] = e.ID()
	}
	return out
}

func TestProcessedEventsRetention(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	f := r.startWith(t, map[string]string{"RECONCILE_EVERY": "0", "PROCESSED_EVENTS_RETENTION": "24h"})
	pool := r.seeder.Pool
	ctx := context.Background()
	old, recent := uuid.NewString(), uuid.NewString()
	if _, err := pool.Exec(ctx, `INSERT INTO processed_events (consumer, event_id, processed_at) VALUES
		($1, $2, now() - interval '25 hours'), ($1, $3, now() - interval '23 hours')`, Name, old, recent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Reconciler.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	left := testkit.Count(t, pool, `SELECT count(*) FROM processed_events WHERE event_id = ANY($1)`, []string{old, recent})
	gone := testkit.Count(t, pool, `SELECT count(*) FROM processed_events WHERE event_id = $1`, old)
	if left != 1 || gone != 0 {
		t.Fatalf("%d of the two rows left, the old one %d times; want only the recent one", left, gone)
	}
}
