package store

import (
	"context"
	"errors"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/task"
)

// FireDueReminders fires, in one transaction, the reminders due by now of
// at most limit tasks, earliest first: each is marked sent (or missed, when
// more than maxLateness late) in the task's row and, for each sent one, the
// event announce builds is queued in the outbox, so a reminder's event is
// written exactly once. Rows another scheduler holds are left to it. The
// task's version (updated_at, its ETag) stays: a reminder firing is not an
// edit.
func (s *Store) FireDueReminders(ctx context.Context, now time.Time, maxLateness time.Duration, limit int,
	announce func(task.Task, task.Fired) (cloudevents.Event, error)) (contract.ReminderPass, error) {
	var pass contract.ReminderPass
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		pass = contract.ReminderPass{}
		rows, err := tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE next_remind_at <= $1
			ORDER BY next_remind_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task.Task, error) { return scanTask(r) })
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		var evts []cloudevents.Event
		for _, t := range due {
			fired, missed := t.FireReminders(now, maxLateness)
			pass.Missed += missed
			for _, f := range fired {
				evt, err := announce(t, f)
				if err != nil {
					return err
				}
				evts = append(evts, evt)
				pass.Fired++
				pass.Lateness = append(pass.Lateness, now.Sub(f.Reminder.RemindAt))
				if f.Late {
					pass.Late++
				}
			}
			b.Queue(`UPDATE tasks SET reminders = $3, next_remind_at = $4 WHERE id = $1 AND user_id = $2`,
				t.ID, t.UserID, remindersArg(t.Reminders), t.NextReminder())
		}
		pass.Tasks = len(due)
		if len(due) == 0 {
			return nil
		}
		if err := outbox.Queue(ctx, b, evts...); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return pass, err
}

// NextReminderAt is when the earliest scheduled reminder of any task is
// due (nil when none is).
func (s *Store) NextReminderAt(ctx context.Context) (*time.Time, error) {
	var next *time.Time
	err := s.Pool.QueryRow(ctx, `SELECT min(next_remind_at) FROM tasks WHERE next_remind_at IS NOT NULL`).Scan(&next)
	return next, classify(err)
}

// UpcomingReminders returns the scheduled reminders due by until, at most
// limit, earliest first.
func (s *Store) UpcomingReminders(ctx context.Context, until time.Time, limit int) ([]contract.UpcomingReminder, error) {
	rows, err := s.Pool.Query(ctx, `SELECT t.id, r->>'id', (r->>'remind_at')::timestamptz AS at
		FROM tasks t CROSS JOIN LATERAL jsonb_array_elements(t.reminders) r
		WHERE t.next_remind_at <= $1 AND r->>'state' = 'scheduled' AND (r->>'remind_at')::timestamptz <= $1
		ORDER BY at, t.id LIMIT $2`, until, limit)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (contract.UpcomingReminder, error) {
		var u contract.UpcomingReminder
		err := r.Scan(&u.TaskID, &u.ReminderID, &u.RemindAt)
		return u, err
	})
	return out, classify(err)
}

// ListenReminders runs fn with a wait that returns when a task with a
// scheduled reminder is written (NOTIFY todo_reminders), at until, or when
// ctx ends, whichever comes first.
func (s *Store) ListenReminders(ctx context.Context, fn func(wait func(until time.Time) error) error) error {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN todo_reminders`); err != nil {
		return classify(err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `UNLISTEN todo_reminders`) }()
	return fn(func(until time.Time) error {
		wctx, cancel := context.WithDeadline(ctx, until)
		defer cancel()
		_, err := conn.Conn().WaitForNotification(wctx)
		if err == nil || errors.Is(wctx.Err(), context.DeadlineExceeded) || ctx.Err() != nil {
			return nil
		}
		return classify(err)
	})
}
