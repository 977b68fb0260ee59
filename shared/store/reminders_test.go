package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// seedReminder stores a task of user with one reminder at at (and a due
// date an hour later), closed when done.
func seedReminder(t *testing.T, st *store.Store, user string, at time.Time, done bool) task.Task {
	t.Helper()
	title, due, when := "call the bank", at.Add(time.Hour).Format(time.RFC3339Nano), at.Format(time.RFC3339Nano)
	d := task.Draft{Title: &title, DueDate: &due, Reminders: &[]task.ReminderInput{{At: &when}}}
	if done {
		yes := true
		d.Completed = &yes
	}
	tk, err := d.Build(uuid.NewString(), user, time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	evt, err := events.ForTask(events.TypeTaskCreated, "test", tk, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTask(context.Background(), tk, evt); err != nil {
		t.Fatal(err)
	}
	return tk
}

// Four schedulers firing at once (as after a failover, or a lock lost and
// retaken) still write each reminder's event exactly once, in the
// transaction that marks it sent; one past the allowed lateness is marked
// missed, one ahead waits, one of a done task never fires, and no task's
// version moves.
func TestRemindersFireOnceAcrossConcurrentSchedulers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := testkit.Store(t, testkit.Database(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	user := testkit.User()
	const onTime = 300
	var due []task.Task
	for range onTime {
		due = append(due, seedReminder(t, st, user, now.Add(-time.Second), false))
	}
	late := seedReminder(t, st, user, now.Add(-10*time.Minute), false)
	missed := seedReminder(t, st, user, now.Add(-48*time.Hour), false)
	ahead := seedReminder(t, st, user, now.Add(time.Hour), false)
	closed := seedReminder(t, st, user, now.Add(-time.Second), true)
	if closed.Reminders[0].State != task.ReminderCancelled || closed.NextReminder() != nil {
		t.Fatalf("a done task's reminder: %+v", closed.Reminders)
	}
	announce := func(tk task.Task, f task.Fired) (cloudevents.Event, error) {
		return events.ForReminder("test", tk, f, now)
	}
	var mu sync.Mutex
	fired, missedN := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				pass, err := st.FireDueReminders(ctx, now, 24*time.Hour, 50, announce)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fired, missedN = fired+pass.Fired, missedN+pass.Missed
				mu.Unlock()
				if pass.Tasks == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if fired != onTime+1 || missedN != 1 {
		t.Fatalf("fired %d, missed %d; want %d and 1", fired, missedN, onTime+1)
	}
	if n := testkit.Count(t, st.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders'`); n != onTime+1 {
		t.Fatalf("%d reminder events in the outbox, want %d", n, onTime+1)
	}
	if n := testkit.Count(t, st.Pool, `SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'reminders'`); n != onTime+1 {
		t.Fatalf("%d distinct reminder event ids", n)
	}
	if n := testkit.Count(t, st.Pool, `SELECT count(*) FROM tasks WHERE next_remind_at IS NOT NULL`); n != 1 {
		t.Fatalf("%d tasks still wait for a reminder, want only the one ahead", n)
	}
	for _, c := range []struct {
		tk    task.Task
		state task.ReminderState
	}{{due[0], task.ReminderSent}, {late, task.ReminderSent}, {missed, task.ReminderMissed}, {ahead, task.ReminderScheduled},
		{closed, task.ReminderCancelled}} {
		got, err := st.GetTask(ctx, user, c.tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reminders[0].State != c.state || got.ETag() != c.tk.ETag() || got.Reminders[0].ID != c.tk.Reminders[0].ID {
			t.Errorf("task %s: reminder %+v (version %s, was %s), want %s", c.tk.ID, got.Reminders[0], got.ETag(), c.tk.ETag(), c.state)
		}
		if c.state == task.ReminderSent && (got.Reminders[0].SentAt == nil || !got.Reminders[0].SentAt.Equal(now)) {
			t.Errorf("sent at %v, want %v", got.Reminders[0].SentAt, now)
		}
	}
	var body []byte
	if err := st.Pool.QueryRow(ctx, `SELECT event FROM outbox WHERE topic = 'reminders' AND event->>'subject' = $1`, late.ID).
		Scan(&body); err != nil {
		t.Fatal(err)
	}
	var e cloudevents.Event
	var data events.ReminderData
	if err := json.Unmarshal(body, &e); err != nil || e.DataAs(&data) != nil {
		t.Fatalf("event %s: %v", body, err)
	}
	if e.Type() != events.TypeTaskReminder || !data.Late || data.TaskID != late.ID || data.UserID != user ||
		!data.RemindAt.Equal(late.Reminders[0].RemindAt) || data.DueAt == nil || !data.DueAt.Equal(*late.DueDate) {
		t.Errorf("late reminder's event: %s %+v", e.Type(), data)
	}
	if next, err := st.NextReminderAt(ctx); err != nil || next == nil || !next.Equal(ahead.Reminders[0].RemindAt) {
		t.Errorf("next reminder at %v (%v), want %v", next, err, ahead.Reminders[0].RemindAt)
	}
}

// A scheduler asleep until its next reminder wakes as soon as a task with a
// reminder is written, not at the end of its sleep.
func TestListenRemindersWakesOnAWrite(t *testing.T) {
	t.Parallel()
	st := testkit.Store(t, testkit.Database(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listening, woke := make(chan struct{}), make(chan time.Duration, 1)
	go func() {
		_ = st.ListenReminders(ctx, func(wait func(until time.Time) error) error {
			close(listening)
			start := time.Now()
			err := wait(start.Add(time.Hour))
			woke <- time.Since(start)
			return err
		})
	}()
	<-listening
	seedReminder(t, st, testkit.User(), time.Now().Add(time.Hour), false)
	select {
	case took := <-woke:
		t.Logf("woken %v after the write", took)
	case <-time.After(time.Minute):
		t.Fatal("a write of a task with a reminder did not wake the scheduler")
	}
}
