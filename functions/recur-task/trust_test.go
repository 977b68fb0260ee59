package function

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/internal/testenv"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
)

// startWith starts recur-task on the rig's database with env overrides
// (no Kafka unless given); it stops when the test ends.
func (r *rig) startWith(t *testing.T, extra map[string]string) *Function {
	t.Helper()
	f := New()
	if err := f.Start(context.Background(), testenv.Env(r.url, extra)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	return f
}

func structured(t *testing.T, e cloudevents.Event) []byte {
	t.Helper()
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPushAuthentication(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ce := "application/cloudevents+json"
	cases := []struct {
		name    string
		env     map[string]string
		token   string
		headers []string
		want    int
	}{
		{"no token configured refuses everyone", map[string]string{"APP_API_TOKEN": ""}, "", nil, http.StatusUnauthorized},
		{"no token configured refuses a guess", map[string]string{"APP_API_TOKEN": ""}, "x", nil, http.StatusUnauthorized},
		{"missing token", nil, "", nil, http.StatusUnauthorized},
		{"wrong bearer", nil, "wrong-token-wrong-token", nil, http.StatusUnauthorized},
		{"bearer", nil, testenv.AppToken, nil, http.StatusOK},
		{"dapr-api-token", nil, "", []string{"dapr-api-token", testenv.AppToken}, http.StatusOK},
		{"PUSH_AUTH=none opens it", map[string]string{"APP_API_TOKEN": "", "PUSH_AUTH": "none"}, "", nil, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := r.startWith(t, tc.env)
			e, id := r.completed(t, testenv.User())
			rec := testenv.Do(t, f.Handler, "POST", "/", tc.token, structured(t, e), append([]string{"Content-Type", ce}, tc.headers...)...)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.want == http.StatusOK]; r.children(t, id) != want {
				t.Fatalf("%d occurrences, want %d", r.children(t, id), want)
			}
		})
	}
}

func TestPushRateLimitPerClient(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	f := r.startWith(t, map[string]string{"RATE_LIMIT_PUSH_PER_CLIENT": "1"}) // bursts of 5
	body := []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"com.todo.task.created","data":{}}`)
	for i := range 5 {
		rec := testenv.Do(t, f.Handler, "POST", "/", testenv.AppToken, body, "Content-Type", "application/cloudevents+json")
		if rec.Code != http.StatusOK {
			t.Fatalf("push %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := testenv.Do(t, f.Handler, "POST", "/", "", body, "Content-Type", "application/cloudevents+json")
	if code, _ := testenv.ErrorCode(t, rec, http.StatusTooManyRequests); code != "rate_limited" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the limit: %s, Retry-After %q", code, rec.Header().Get("Retry-After"))
	}
}

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
		evts[i], ids[i] = r.completed(t, testenv.User())
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
		return testenv.Count(t, r.seeder.Store.Pool, `SELECT count(*) FROM processed_events WHERE event_id = ANY($1)`, eventIDs(evts)) == n
	})
	for _, id := range ids {
		if c := r.children(t, id); c != 1 {
			t.Fatalf("task %s has %d occurrences", id, c)
		}
	}
	if got := f.reconciled.Value(); got != n {
		t.Fatalf("reconciler counted %d, want %d", got, n)
	}
	if created, err := f.Reconcile(context.Background()); err != nil || created != 0 {
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
	pool := r.seeder.Store.Pool
	ctx := context.Background()
	old, recent := uuid.NewString(), uuid.NewString()
	if _, err := pool.Exec(ctx, `INSERT INTO processed_events (consumer, event_id, processed_at) VALUES
		($1, $2, now() - interval '25 hours'), ($1, $3, now() - interval '23 hours')`, Name, old, recent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	left := testenv.Count(t, pool, `SELECT count(*) FROM processed_events WHERE event_id = ANY($1)`, []string{old, recent})
	gone := testenv.Count(t, pool, `SELECT count(*) FROM processed_events WHERE event_id = $1`, old)
	if left != 1 || gone != 0 {
		t.Fatalf("%d of the two rows left, the old one %d times; want only the recent one", left, gone)
	}
}
