package function

import (
	"context"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/backoff"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/task"
)

// reminderLock elects one reminder scheduler among all recur-task
// processes.
const reminderLock = 0x746f646f0003

// Scheduler bounds: tasks per transaction, the longest sleep between
// looks at the database (a safety net; NOTIFY wakes it on every change),
// the shortest (when due rows were locked by a writer), and how often a
// standby tries to become the scheduler.
const (
	reminderBatch  = 500
	reminderMaxNap = time.Minute
	reminderMinNap = 50 * time.Millisecond
	standbyEvery   = 2 * time.Second
)

// Reminders is what the scheduler needs of the database: firing the due
// reminders (each marked and its event queued in one transaction), the
// time of the next one, a wait woken by changes, and the lock that elects
// one scheduler.
type Reminders interface {
	FireDueReminders(ctx context.Context, now time.Time, maxLateness time.Duration, limit int,
		announce func(task.Task, task.Fired) (cloudevents.Event, error)) (contract.ReminderPass, error)
	NextReminderAt(ctx context.Context) (*time.Time, error)
	UpcomingReminders(ctx context.Context, until time.Time, limit int) ([]contract.UpcomingReminder, error)
	ListenReminders(ctx context.Context, fn func(wait func(until time.Time) error) error) error
	Leading(ctx context.Context, key int64, fn func(context.Context) error) (bool, error)
}

// Scheduler fires reminders when they come due: it sleeps until the next
// reminder's time and is woken early when a task with a reminder is
// written, so a reminder fires within moments of its time rather than at
// the next tick of a scan. Only the process holding reminderLock
// schedules; the others wait to take over.
type Scheduler struct {
	Reminders Reminders
	Log       zerolog.Logger
	Metrics   *metrics.Metrics
	Now       func() time.Time
	// MaxLateness is how late a reminder may still fire.
	MaxLateness time.Duration
	// Committed is called after a pass wrote events (the relay's fast
	// path; optional).
	Committed func()
	// Jobs, when set (REMINDER_TRIGGER=dapr-jobs), is what says a reminder
	// is due: one Dapr job per reminder, whose callback fires what is due
	// (FireDue); the scheduler then keeps the jobs in step with the
	// database and looks itself only every reminderMaxNap (a catch-up scan
	// for jobs the Dapr scheduler lost).
	Jobs Jobs

	jobs map[string]time.Time // the jobs this leader set, by name
}

// Jobs is the Dapr Jobs API (shared/dapr.Jobs).
type Jobs interface {
	Schedule(ctx context.Context, name string, due time.Time, data any) error
	Delete(ctx context.Context, name string) error
}

// Bounds of the jobs kept in step: how far ahead, and how many at most
// (the soonest; the others are set as their time comes nearer).
const (
	jobsAhead = 24 * time.Hour
	jobsMax   = 1000
)

// JobName is the Dapr job of a reminder.
func JobName(u contract.UpcomingReminder) string { return "reminder-" + u.TaskID + "-" + u.ReminderID }

// Run schedules while this process is elected, and stands by otherwise,
// until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		if _, err := s.Reminders.Leading(ctx, reminderLock, s.lead); err != nil && ctx.Err() == nil {
			s.Log.Warn().Err(err).Msg("reminder scheduler stopped; retrying")
		}
		if !backoff.Sleep(ctx, standbyEvery) {
			return nil
		}
	}
}

// lead fires what is due, then sleeps until the next reminder or a change,
// over and over. It listens before the first pass, so no change between a
// pass and the sleep goes unnoticed.
func (s *Scheduler) lead(ctx context.Context) error {
	s.Log.Info().Msg("reminder scheduler active")
	return s.Reminders.ListenReminders(ctx, func(wait func(until time.Time) error) error {
		for ctx.Err() == nil {
			if _, err := s.FireDue(ctx); err != nil {
				return err
			}
			next, err := s.Reminders.NextReminderAt(ctx)
			if err != nil {
				return err
			}
			now := s.Now()
			until := now.Add(reminderMaxNap)
			if s.Jobs != nil {
				s.syncJobs(ctx, now)
				next = nil // the jobs say when; the timer is the catch-up scan
			}
			if next != nil && next.Before(until) {
				until = *next
			}
			if until.Before(now.Add(reminderMinNap)) { // due but locked by a writer: look again shortly
				until = now.Add(reminderMinNap)
			}
			if err := wait(until); err != nil {
				return err
			}
		}
		return nil
	})
}

// syncJobs sets a job for every reminder due within jobsAhead (again when
// re-timed: scheduling a name again overwrites it) and deletes the jobs of
// those no longer scheduled (cancelled, re-timed away, fired). A failure
// ends the sync, logged once, and it is tried again at the next look: the
// catch-up scan fires what a missing job would have. A job set by another leader before a failover
// is not deleted; when it fires, its callback finds nothing to do.
func (s *Scheduler) syncJobs(ctx context.Context, now time.Time) {
	upcoming, err := s.Reminders.UpcomingReminders(ctx, now.Add(jobsAhead), jobsMax)
	if err != nil {
		s.Log.Warn().Err(err).Msg("reading upcoming reminders for their jobs failed; the catch-up scan covers them")
		return
	}
	if s.jobs == nil {
		s.jobs = map[string]time.Time{}
	}
	want := make(map[string]bool, len(upcoming))
	for _, u := range upcoming {
		name := JobName(u)
		want[name] = true
		if at, ok := s.jobs[name]; ok && at.Equal(u.RemindAt) {
			continue
		}
		if err := s.Jobs.Schedule(ctx, name, u.RemindAt, map[string]string{"task_id": u.TaskID, "reminder_id": u.ReminderID}); err != nil {
			// Once per look, not once per reminder: the sidecar is most
			// likely away; the rest wait for the next look.
			s.Log.Warn().Err(err).Str("job", name).Msg("scheduling reminders' jobs failed; tried again at the next look, and the catch-up scan covers them")
			return
		}
		s.jobs[name] = u.RemindAt
	}
	for name := range s.jobs {
		if want[name] {
			continue
		}
		delete(s.jobs, name)
		if err := s.Jobs.Delete(ctx, name); err != nil {
			// Gone already (it fired), or it fires and its callback
			// finds nothing to do.
			s.Log.Debug().Err(err).Str("job", name).Msg("deleting a reminder's job failed")
		}
	}
}

// FireDue fires every reminder due now, in batches, and returns how many
// it fired.
func (s *Scheduler) FireDue(ctx context.Context) (int, error) {
	fired := 0
	for {
		pass, err := s.Reminders.FireDueReminders(ctx, s.Now(), s.MaxLateness, reminderBatch,
			func(t task.Task, f task.Fired) (cloudevents.Event, error) {
				return events.ForReminder(Name, t, f, s.Now())
			})
		if err != nil {
			return fired, err
		}
		fired += pass.Fired
		s.Metrics.RemindersFired.Add(float64(pass.Fired))
		s.Metrics.RemindersLate.Add(float64(pass.Late))
		s.Metrics.RemindersMissed.Add(float64(pass.Missed))
		for _, late := range pass.Lateness {
			s.Metrics.ReminderLateness.Observe(late.Seconds())
		}
		if pass.Fired > 0 && s.Committed != nil {
			s.Committed()
		}
		if pass.Fired > 0 || pass.Missed > 0 {
			s.Log.Info().Int("fired", pass.Fired).Int("late", pass.Late).Int("missed", pass.Missed).Msg("reminders")
		}
		if pass.Tasks < reminderBatch {
			return fired, nil
		}
	}
}
