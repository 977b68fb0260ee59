package function

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// A reminder fires once, about on time, as a com.todo.task.reminder event on
// the reminders topic, through the outbox and the relay; the reminder of a
// task completed before its time never fires; two recur-task processes
// still fire it once.
func TestReminderFiresOnceOnTimeToTheRemindersTopic(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	env := map[string]string{"KAFKA_BROKERS": r.brokers, "KAFKA_CONSUMER_GROUP": "recur-" + uuid.NewString()[:8]}
	r.startWith(t, env)
	r.startWith(t, env)
	user := testkit.User()
	at := time.Now().Add(1500 * time.Millisecond).UTC()
	when, due, title := at.Format(time.RFC3339Nano), at.Add(time.Hour).Format(time.RFC3339Nano), "take the pills"
	draft := task.Draft{Title: &title, DueDate: &due, Reminders: &[]task.ReminderInput{{At: &when}}}
	fires := testkit.Seed(t, r.seeder, user, draft)
	cancelled := testkit.Seed(t, r.seeder, user, draft)
	if _, err := r.seeder.UpdateTask(ctx, user, cancelled.ID, func(tk *task.Task) (*cloudevents.Event, error) {
		tk.SetCompleted(true, time.Now())
		e, err := events.ForTask(events.TypeTaskCompleted, "test", *tk, time.Now())
		return &e, err
	}); err != nil {
		t.Fatal(err)
	}
	var got []cloudevents.Event
	testkit.Eventually(t, "the reminder on the reminders topic", 30*time.Second, func() bool {
		got = got[:0]
		for _, m := range testkit.ReadTopic(t, r.brokers, events.TopicReminders) {
			got = append(got, testkit.Event(t, m))
		}
		return len(got) > 0
	})
	var data events.ReminderData
	if err := got[0].DataAs(&data); err != nil {
		t.Fatal(err)
	}
	if got[0].Type() != events.TypeTaskReminder || data.TaskID != fires.ID || data.Late || !data.RemindAt.Equal(fires.Reminders[0].RemindAt) {
		t.Fatalf("reminder event %s %+v", got[0].Type(), data)
	}
	stored, err := r.seeder.GetTask(ctx, user, fires.ID)
	if err != nil || stored.Reminders[0].State != task.ReminderSent || stored.Reminders[0].SentAt == nil {
		t.Fatalf("stored reminder %+v (%v)", stored.Reminders, err)
	}
	t.Logf("fired %v after its time", stored.Reminders[0].SentAt.Sub(at))
	// Past the cancelled one's time, nothing more came.
	time.Sleep(time.Until(at.Add(time.Second)))
	if n := len(testkit.ReadTopic(t, r.brokers, events.TopicReminders)); n != 1 {
		t.Fatalf("%d reminder events, want 1 (the completed task's must not fire, nothing fires twice)", n)
	}
	if c, err := r.seeder.GetTask(ctx, user, cancelled.ID); err != nil || c.Reminders[0].State != task.ReminderCancelled {
		t.Fatalf("the completed task's reminder %+v (%v)", c.Reminders, err)
	}
}

// A reminder that came due while nothing ran fires once when recur-task
// starts, marked late; one older than REMINDER_MAX_LATENESS is missed.
func TestRemindersDueDuringDowntimeFireLateOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	user := testkit.User()
	title := "renew the passport"
	seed := func(at time.Time) task.Task {
		when, due := at.Format(time.RFC3339Nano), time.Now().Add(time.Hour).Format(time.RFC3339Nano)
		return testkit.Seed(t, r.seeder, user, task.Draft{Title: &title, DueDate: &due,
			Reminders: &[]task.ReminderInput{{At: &when}}})
	}
	late, missed := seed(time.Now().Add(-20*time.Minute)), seed(time.Now().Add(-3*time.Hour))
	f := r.startWith(t, map[string]string{"REMINDER_MAX_LATENESS": "2h"})
	testkit.Eventually(t, "the late reminder fired", 15*time.Second, func() bool {
		return testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders'`) > 0
	})
	_ = f.Stop(context.Background())
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders' AND event->>'subject' = $1
		AND (event->'data'->>'late')::boolean`, late.ID); n != 1 {
		t.Fatalf("%d late reminder events for the late task, want 1", n)
	}
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders'`); n != 1 {
		t.Fatalf("%d reminder events, want only the late one", n)
	}
	m, err := r.seeder.GetTask(context.Background(), user, missed.ID)
	if err != nil || m.Reminders[0].State != task.ReminderMissed {
		t.Fatalf("the reminder beyond the lateness: %+v (%v)", m.Reminders, err)
	}
	// A restart fires nothing again.
	r.startWith(t, nil)
	time.Sleep(time.Second)
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders'`); n != 1 {
		t.Fatalf("%d reminder events after a restart, want 1", n)
	}
}

// The next occurrence gets the relative reminders of the one completed,
// from its own due date; absolute ones are not copied.
func TestNextOccurrenceCarriesRelativeReminders(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 5, 3, 8, 0, 0, 0, time.UTC)
	title, due, daily, before, at := "stand-up", "2027-05-03T09:00:00", "daily", "PT15M", "2027-05-03T07:00:00"
	parent, err := task.Draft{Title: &title, DueDate: &due, Timezone: ptr("Europe/Berlin"), RecurringType: &daily,
		Reminders: &[]task.ReminderInput{{Before: &before}, {At: &at}}}.Build(uuid.NewString(), "u", now)
	if err != nil {
		t.Fatal(err)
	}
	parent.SetCompleted(true, now)
	child, _, err := nextOccurrence(parent, now, now)
	if err != nil || child == nil {
		t.Fatal(err)
	}
	if len(child.Reminders) != 1 || child.Reminders[0].Before == nil || *child.Reminders[0].Before != "PT15M" ||
		!child.Reminders[0].RemindAt.Equal(child.DueDate.Add(-15*time.Minute)) || child.Reminders[0].State != task.ReminderScheduled {
		t.Fatalf("due %v, reminders %+v", child.DueDate, child.Reminders)
	}
}

// A PingSource tick (a binary-mode CloudEvent of type
// dev.knative.sources.ping, as Knative sends it) fires what is due at
// once, while the scheduler sleeps and no change woke it: a reminder moved
// into the past behind the trigger's back fires on the tick, once; a
// second tick fires nothing; with REMINDERS=false a tick fires nothing.
func TestATickFiresWhatIsDue(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	f := r.startWith(t, nil)
	off := r.startWith(t, map[string]string{"REMINDERS": "false"})
	user := testkit.User()
	at := time.Now().Add(time.Hour).UTC()
	when, due, title := at.Format(time.RFC3339Nano), at.Add(time.Hour).Format(time.RFC3339Nano), "renew the passport"
	tk := testkit.Seed(t, r.seeder, user, task.Draft{Title: &title, DueDate: &due, Reminders: &[]task.ReminderInput{{At: &when}}})
	time.Sleep(200 * time.Millisecond) // the scheduler has looked and sleeps for its longest nap
	past := time.Now().Add(-time.Second).UTC()
	if _, err := r.seeder.Pool.Exec(ctx, `ALTER TABLE tasks DISABLE TRIGGER tasks_notify_reminders`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.seeder.Pool.Exec(ctx, `UPDATE tasks SET next_remind_at = $2,
		reminders = jsonb_set(reminders, '{0,remind_at}', to_jsonb($2::timestamptz)) WHERE id = $1`, tk.ID, past); err != nil {
		t.Fatal(err)
	}
	tick := func(fn http.Handler) string {
		t.Helper()
		rec := testkit.Do(t, fn, "POST", "/", testkit.AppToken, []byte(`{}`), "Content-Type", "application/json",
			"Ce-Specversion", "1.0", "Ce-Type", TypeTick, "Ce-Id", uuid.NewString(),
			"Ce-Source", "/apis/v1/namespaces/todo/pingsources/reminders-tick")
		var reply pushReply
		testkit.Decode(t, rec, &reply)
		if rec.Code != http.StatusOK || reply.Status != "SUCCESS" {
			t.Fatalf("tick: %d %s", rec.Code, rec.Body)
		}
		return reply.Outcome
	}
	if got := tick(off); got != "reminders-off" {
		t.Fatalf("a tick with REMINDERS=false: %s", got)
	}
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders'`); n != 0 {
		t.Fatalf("%d reminders fired before the tick (the scheduler was not asleep)", n)
	}
	if got := tick(f); got != "reminders-fired-1" {
		t.Fatalf("the tick: %s, want one reminder fired", got)
	}
	if got := tick(f); got != "reminders-fired-0" {
		t.Fatalf("a second tick: %s", got)
	}
	if n := testkit.Count(t, r.seeder.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders' AND event->>'subject' = $1`, tk.ID); n != 1 {
		t.Fatalf("%d reminder events, want 1", n)
	}
}

// fakeJobs records what the scheduler asks of the Dapr Jobs API.
type fakeJobs struct{ scheduled, deleted []string }

func (f *fakeJobs) Schedule(_ context.Context, name string, due time.Time, _ any) error {
	f.scheduled = append(f.scheduled, name+"@"+due.UTC().Format(time.RFC3339))
	return nil
}

func (f *fakeJobs) Delete(_ context.Context, name string) error {
	f.deleted = append(f.deleted, name)
	return nil
}

// With Dapr jobs as the trigger, the scheduler keeps one job per upcoming
// reminder in step with the database: set once, overwritten when
// re-timed, deleted when the task is completed. (The real sidecar and
// Dapr scheduler run in dev/allinone's TestRemindersByDaprJobs.)
func TestJobsFollowTheReminders(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	jobs := &fakeJobs{}
	s := &Scheduler{Reminders: r.seeder, Jobs: jobs, Now: time.Now}
	user, title := testkit.User(), "file the taxes"
	base := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	first, second, due := base.Format(time.RFC3339), base.Add(time.Hour).Format(time.RFC3339), base.Add(5*time.Hour).Format(time.RFC3339)
	tk := testkit.Seed(t, r.seeder, user, task.Draft{Title: &title, DueDate: &due, Reminders: &[]task.ReminderInput{{At: &first}, {At: &second}}})
	name := func(i int) string {
		return JobName(contract.UpcomingReminder{TaskID: tk.ID, ReminderID: tk.Reminders[i].ID})
	}
	s.syncJobs(ctx, time.Now())
	s.syncJobs(ctx, time.Now()) // nothing changed: nothing asked
	if want := []string{name(0) + "@" + first, name(1) + "@" + second}; !slices.Equal(jobs.scheduled, want) || len(jobs.deleted) != 0 {
		t.Fatalf("scheduled %v, deleted %v; want %v", jobs.scheduled, jobs.deleted, want)
	}
	later := base.Add(3 * time.Hour)
	if _, err := r.seeder.UpdateTask(ctx, user, tk.ID, func(t *task.Task) (*cloudevents.Event, error) {
		t.Reminders[0].RemindAt = later
		e, err := events.ForTask(events.TypeTaskUpdated, "test", *t, time.Now())
		return &e, err
	}); err != nil {
		t.Fatal(err)
	}
	s.syncJobs(ctx, time.Now())
	if got := jobs.scheduled[2:]; !slices.Equal(got, []string{name(0) + "@" + later.Format(time.RFC3339)}) || len(jobs.deleted) != 0 {
		t.Fatalf("after the re-time: scheduled %v, deleted %v", got, jobs.deleted)
	}
	if _, err := r.seeder.UpdateTask(ctx, user, tk.ID, func(t *task.Task) (*cloudevents.Event, error) {
		t.SetCompleted(true, time.Now())
		e, err := events.ForTask(events.TypeTaskCompleted, "test", *t, time.Now())
		return &e, err
	}); err != nil {
		t.Fatal(err)
	}
	s.syncJobs(ctx, time.Now())
	slices.Sort(jobs.deleted)
	want := []string{name(0), name(1)}
	slices.Sort(want)
	if len(jobs.scheduled) != 3 || !slices.Equal(jobs.deleted, want) {
		t.Fatalf("after the completion: scheduled %v, deleted %v", jobs.scheduled, jobs.deleted)
	}
}
