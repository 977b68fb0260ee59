package function

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/webhook"
)

func record(t *testing.T, e cloudevents.Event) kafka.Record {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Record{Topic: events.TopicOf(e), Value: b}
}

// The consumer queues each task event and reminder for the webhooks of
// its user that want it, once however often the record comes; an event
// whose data names another user than its key, an event no webhook can
// want and a record that is no event are skipped, and the batch is still
// consumed.
func TestConsumeQueuesDeliveries(t *testing.T) {
	t.Parallel()
	st := testkit.Store(t, testkit.Database(t))
	ctx := context.Background()
	user, victim := testkit.User(), testkit.User()
	hooks := map[string]webhook.Webhook{}
	for u, evts := range map[string][]string{user: {webhook.TaskReminder, webhook.TaskCompleted}, victim: webhook.Events} {
		w, err := st.CreateWebhook(ctx, webhook.Webhook{ID: uuid.NewString(), UserID: u, URL: "https://h.example/" + u,
			Events: evts, Secret: testSecret, CreatedAt: time.Now().Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		hooks[u] = w
	}
	due := time.Now().Add(time.Hour).UTC()
	tk := task.Task{ID: uuid.NewString(), UserID: user, Title: "Pay rent", DueDate: &due, Status: task.StatusPending}
	reminder, err := events.ForReminder("recur-task", tk, task.Fired{Reminder: task.Reminder{ID: "r1", RemindAt: time.Now()}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	created, _ := events.ForTask(events.TypeTaskCreated, "create-task", tk, time.Now()) // not wanted by user's webhook
	forged := reminder.Clone()
	forged.SetID(uuid.NewString())
	forged.SetExtension(events.ExtPartitionKey, victim) // keyed to the victim, data of user
	dead := reminder.Clone()
	dead.SetID(uuid.NewString())
	dead.SetType(events.TypeDeadLettered)
	records := []kafka.Record{record(t, reminder), record(t, created), record(t, forged), record(t, dead),
		{Topic: events.TopicReminders, Value: []byte("not an event")}, record(t, reminder)}
	woken := 0
	q := &Enqueuer{Queue: st, Log: zerolog.Nop(), Now: time.Now, Queued: func() { woken++ }}
	for range 2 {
		n, err := q.Consume(ctx, records)
		if err != nil || n != len(records) {
			t.Fatalf("consumed %d of %d: %v", n, len(records), err)
		}
	}
	if woken != 1 {
		t.Fatalf("the sender was woken %d times, want once (the redelivery queued nothing)", woken)
	}
	list, err := st.ListDeliveries(ctx, user, hooks[user].ID, 10)
	if err != nil || len(list) != 1 || list[0].EventID != reminder.ID() || list[0].Type != webhook.TaskReminder {
		t.Fatalf("user's deliveries: %+v (%v)", list, err)
	}
	if list, _ := st.ListDeliveries(ctx, victim, hooks[victim].ID, 10); len(list) != 0 {
		t.Fatalf("a forged event reached another user's webhook: %+v", list)
	}
}
