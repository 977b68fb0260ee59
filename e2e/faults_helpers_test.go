package e2e_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// publisher sends events straight to the broker, as a redelivering or
// misbehaving producer would.
func publisher(t *testing.T) *kafka.Publisher {
	t.Helper()
	p, err := kafka.NewPublisher([]string{sys.proxy.Addr()}, "e2e-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// completedEvents marks every item done in the database, without queueing
// an event, and builds the task.completed event of each, for the test to
// deliver.
func completedEvents(t *testing.T, items []item) []cloudevents.Event {
	t.Helper()
	out := make([]cloudevents.Event, len(items))
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := sys.db.Exec(context.Background(), `UPDATE tasks SET status = 'done', completed_at = $2 WHERE id = ANY($1)`,
		ids(items), now); err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		e, err := events.ForTask(events.TypeTaskCompleted, "e2e", task.Task{ID: it.id, UserID: it.user, Title: "t",
			Status: task.StatusDone, RecurringType: task.RecurDaily, CompletedAt: &now}, now)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// ghostCompletion is a well-formed completion event of a task that does not
// exist.
func ghostCompletion(t *testing.T, user string) cloudevents.Event {
	t.Helper()
	now := time.Now().UTC()
	e, err := events.ForTask(events.TypeTaskCompleted, "e2e", task.Task{ID: "00000000-0000-4000-8000-000000000000",
		UserID: user, Title: "t", Status: task.StatusDone, RecurringType: task.RecurDaily, CompletedAt: &now}, now)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func publishAll(t *testing.T, p *kafka.Publisher, evts []cloudevents.Event, times int) {
	t.Helper()
	for r := 0; r < times; r++ {
		for _, e := range evts {
			if err := p.Publish(context.Background(), events.TopicTaskEvents, e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// stopRecur stops every recur-task replica; ensureRecur starts them again.
func stopRecur(t *testing.T) {
	t.Helper()
	for _, p := range sys.recur {
		p.Stop()
	}
	sys.recur = nil
}

func ensureRecur(t *testing.T, n int) {
	t.Helper()
	for len(sys.recur) < n {
		if err := sys.startRecur(); err != nil {
			t.Fatal(err)
		}
	}
}

// committedOffsets sums group's committed offsets.
func committedOffsets(t *testing.T, group string) int64 {
	t.Helper()
	return testkit.CommittedOffsets(t, sys.proxy.Addr(), group)
}

// waitCaughtUp waits until group has committed every record of task-events
// and returns the committed total.
func waitCaughtUp(t *testing.T, group string) int64 {
	t.Helper()
	return waitCaughtUpOn(t, sys.proxy.Addr(), sys.db, group)
}

// waitCaughtUpOn is waitCaughtUp for the system on brokers (comma-separated)
// and db.
func waitCaughtUpOn(t *testing.T, brokers string, db *pgxpool.Pool, group string) int64 {
	t.Helper()
	client, err := sarama.NewClient(strings.Split(brokers, ","), kafka.Config("e2e-offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		var pending int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM outbox_waiting`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		parts, err := client.Partitions(events.TopicTaskEvents)
		if err != nil {
			t.Fatal(err)
		}
		var end int64
		for _, p := range parts {
			n, err := client.GetOffset(events.TopicTaskEvents, p, sarama.OffsetNewest)
			if err != nil {
				t.Fatal(err)
			}
			end += n
		}
		if got := testkit.CommittedOffsets(t, brokers, group); got == end && pending == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not catch up", group)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var metricLine = regexp.MustCompile(`(?m)^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$`)

// scrape is what process p serves on /metrics.
func scrape(t *testing.T, p *harness.Proc) string {
	t.Helper()
	resp, err := http.Get(p.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// recurMetric sums a metric over the running recur-task replicas.
func recurMetric(t *testing.T, name string) float64 {
	t.Helper()
	var sum float64
	for _, p := range sys.recur {
		for _, m := range metricLine.FindAllStringSubmatch(scrape(t, p), -1) {
			if m[1] == name {
				v, _ := strconv.ParseFloat(m[2], 64)
				sum += v
			}
		}
	}
	return sum
}

// poisonRecords are records recur-task can never process, keyed by user. (A
// well-formed completion of a task that does not exist is not poison but
// stale: acknowledged, changing nothing.)
func poisonRecords(user string) []*sarama.ProducerMessage {
	ce := func(typ, id string) []sarama.RecordHeader {
		return []sarama.RecordHeader{{Key: []byte("ce_specversion"), Value: []byte("1.0")},
			{Key: []byte("ce_id"), Value: []byte(id)}, {Key: []byte("ce_source"), Value: []byte("/e2e")},
			{Key: []byte("ce_type"), Value: []byte(typ)}, {Key: []byte("content-type"), Value: []byte("application/json")}}
	}
	msg := func(value string, headers []sarama.RecordHeader) *sarama.ProducerMessage {
		return &sarama.ProducerMessage{Topic: events.TopicTaskEvents, Key: sarama.StringEncoder(user),
			Value: sarama.StringEncoder(value), Headers: headers}
	}
	return []*sarama.ProducerMessage{
		msg("\x00\xffnot json", nil),
		msg(`{"x":1}`, ce("com.example.unknown", "p1-"+user)),
		msg(`{"event_type":"task-completed"}`, ce(events.TypeTaskCompleted, "p2-"+user)),
	}
}

type dlqRecord struct{ key, reason string }

// deadLetters reads the dead-letter topic's records keyed by user.
func deadLetters(t *testing.T, user string) []dlqRecord {
	t.Helper()
	var out []dlqRecord
	for _, m := range testkit.ReadTopic(t, sys.proxy.Addr(), events.TopicDeadLetters) {
		if string(m.Key) == user {
			out = append(out, dlqRecord{key: user, reason: testkit.Extension(testkit.Event(t, m), events.ExtDeadLetterWhy)})
		}
	}
	return out
}
