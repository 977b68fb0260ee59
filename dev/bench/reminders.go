package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/task"
)

// reminderResult is scenario 6.
type reminderResult struct {
	Reminders int `json:"reminders"`
	// Spread: Reminders due evenly over one minute, recur-task's scheduler
	// running: how late each fired (its sent_at after its remind_at).
	SpreadP50ms float64 `json:"spread_lateness_p50_ms"`
	SpreadP99ms float64 `json:"spread_lateness_p99_ms"`
	SpreadMaxms float64 `json:"spread_lateness_max_ms"`
	// Backlog: Reminders all due when they are written (one statement):
	// the scheduler's rate from their commit to the last one sent, and
	// pgx doing the same work (take 500 due rows, mark them sent, queue
	// their events in the outbox, commit) on as many other rows.
	Backlog    float64 `json:"backlog_fired_per_s"`
	PgxBacklog float64 `json:"pgx_backlog_fired_per_s"`
	// NotOnce counts reminders not sent exactly once (0 expected): still
	// scheduled, or with more than one event in the outbox's history.
	NotOnce int `json:"not_sent_once"`
}

// Scenario 6's shape.
const (
	reminderCount  = 100000
	reminderUsers  = 1000
	reminderWindow = time.Minute
	reminderBatch  = 500 // the scheduler's batch
)

// remindersDue is scenario 6: reminderCount reminders due within one
// minute, then as many due at once, fired by recur-task's scheduler, and
// the same backlog fired by plain pgx with recur-task stopped. recur-task
// stays stopped afterwards.
func remindersDue(ctx context.Context, s *system, rep *report) error {
	if s.recur != nil {
		s.recur.Stop()
		s.recur = nil
	}
	sched, _, err := s.start("recur-task", "recur-task-reminders", map[string]string{"KAFKA_CONSUME": "false"})
	if err != nil {
		return err
	}
	defer func() {
		if sched != nil {
			sched.Stop()
		}
	}()
	r := &reminderResult{Reminders: reminderCount}

	// Due over the minute that starts once they are all written.
	run, start := uuid.NewString()[:8], time.Now().Add(15*time.Second)
	if err := writeReminders(ctx, s, "rs-"+run, start, reminderWindow); err != nil {
		return err
	}
	if late := time.Since(start); late > 0 {
		log("  warning: writing the reminders ended %s after the first was due; those are measured late", late.Round(time.Millisecond))
	}
	late, err := waitFired(ctx, s, "rs-"+run, start.Add(reminderWindow+3*time.Minute))
	if err != nil {
		return err
	}
	r.SpreadP50ms, r.SpreadP99ms = ms(quantile(late, 0.5)), ms(quantile(late, 0.99))
	r.SpreadMaxms = ms(late[len(late)-1])
	if r.NotOnce, err = notSentOnce(ctx, s, "rs-"+run); err != nil {
		return err
	}
	log("  %d reminders due over %s: lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms; not sent exactly once: %d",
		reminderCount, reminderWindow, r.SpreadP50ms, r.SpreadP99ms, r.SpreadMaxms, r.NotOnce)

	// Due at once: the scheduler's rate.
	written := time.Now()
	if err := writeReminders(ctx, s, "rb-"+run, time.Now().Add(-time.Second), 0); err != nil {
		return err
	}
	committed := time.Now()
	if _, err := waitFired(ctx, s, "rb-"+run, time.Now().Add(5*time.Minute)); err != nil {
		return err
	}
	var last time.Time
	if err := s.db.QueryRow(ctx, `SELECT max((r->>'sent_at')::timestamptz) FROM tasks, jsonb_array_elements(reminders) r
		WHERE user_id LIKE $1`, "rb-"+run+"-%").Scan(&last); err != nil {
		return err
	}
	r.Backlog = reminderCount / last.Sub(committed).Seconds()
	log("  %d reminders due at once (written in %s): %.0f fired/s", reminderCount, committed.Sub(written).Round(time.Millisecond), r.Backlog)

	// The baseline, with no scheduler running.
	sched.Stop()
	sched = nil
	if err := writeReminders(ctx, s, "rp-"+run, time.Now().Add(-time.Second), 0); err != nil {
		return err
	}
	if r.PgxBacklog, err = pgxFireReminders(ctx, s); err != nil {
		return err
	}
	log("  pgx doing the same work: %.0f fired/s (ratio %.2f)", r.PgxBacklog, r.Backlog/r.PgxBacklog)
	rep.Reminders = r
	return nil
}

// writeReminders stores reminderCount open tasks of reminderUsers users
// named prefix-<n>, each with one reminder, due evenly from first over
// window, in one statement.
func writeReminders(ctx context.Context, s *system, prefix string, first time.Time, window time.Duration) error {
	_, err := s.db.Exec(ctx, `
		INSERT INTO tasks (id, user_id, title, due_date, reminders, next_remind_at)
		SELECT gen_random_uuid(), $1 || '-' || (i % $3), 'bench reminder ' || i, at + interval '1 hour',
		       jsonb_build_array(jsonb_build_object('id', gen_random_uuid(), 'at', at, 'remind_at', at,
		           'state', 'scheduled', 'sent_at', NULL)), at
		FROM generate_series(0, $2 - 1) AS i,
		     LATERAL (SELECT $4::timestamptz + $5::interval * i / $2 AS at) t`,
		prefix, reminderCount, reminderUsers, first, window)
	return err
}

// waitFired waits until no reminder of prefix's users is scheduled and
// returns each one's lateness (sent_at − remind_at), sorted. While it
// waits it asks only whether one is left (the partial index on scheduled
// reminders holds only the unsent ones), not how many, so it takes little
// from the scheduler it measures.
func waitFired(ctx context.Context, s *system, prefix string, deadline time.Time) ([]time.Duration, error) {
	for {
		var left bool
		if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE next_remind_at IS NOT NULL AND user_id LIKE $1)`,
			prefix+"-%").Scan(&left); err != nil {
			return nil, err
		}
		if !left {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("reminders still scheduled after %s", deadline.Format(time.RFC3339))
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows, err := s.db.Query(ctx, `SELECT (r->>'sent_at')::timestamptz - (r->>'remind_at')::timestamptz
		FROM tasks, jsonb_array_elements(reminders) r WHERE user_id LIKE $1 AND r->>'state' = 'sent'`, prefix+"-%")
	if err != nil {
		return nil, err
	}
	late, err := pgx.CollectRows(rows, pgx.RowTo[time.Duration])
	if err != nil {
		return nil, err
	}
	if len(late) != reminderCount {
		return nil, fmt.Errorf("%d of %d reminders sent", len(late), reminderCount)
	}
	slices.Sort(late)
	return late, nil
}

// notSentOnce counts prefix's reminders not marked sent, or announced by
// other than exactly one outbox row (published rows are kept until the
// clean-up, far longer than this run).
func notSentOnce(ctx context.Context, s *system, prefix string) (int, error) {
	// Fresh statistics first: planned on the counts from before the
	// reminders were written, the join once ran as a nested loop for
	// longer than the whole bench.
	if _, err := s.db.Exec(ctx, `ANALYZE tasks, outbox`); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FROM tasks t CROSS JOIN LATERAL jsonb_array_elements(t.reminders) r
		LEFT JOIN (SELECT event->'data'->>'reminder_id' AS id, count(*) AS n FROM outbox
		           WHERE topic = $2 GROUP BY 1) o ON o.id = r->>'id'
		WHERE t.user_id LIKE $1 AND (r->>'state' <> 'sent' OR coalesce(o.n, 0) <> 1)`,
		prefix+"-%", events.TopicReminders).Scan(&n)
	return n, err
}

// pgxFireReminders is the baseline: what the scheduler does to the due
// reminders (the only ones are the baseline's: take reminderBatch due
// rows, mark their reminder sent, queue one event each in the outbox,
// commit), with plain pgx.
func pgxFireReminders(ctx context.Context, s *system) (float64, error) {
	start, fired := time.Now(), 0
	for fired < reminderCount {
		n, err := pgxReminderBatch(ctx, s)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("pgx fired %d of %d reminders", fired, reminderCount)
		}
		fired += n
	}
	return float64(fired) / time.Since(start).Seconds(), nil
}

func pgxReminderBatch(ctx context.Context, s *system) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		now := time.Now()
		rows, err := tx.Query(ctx, `SELECT id, user_id, title, due_date, reminders FROM tasks
			WHERE next_remind_at <= $1 ORDER BY next_remind_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, reminderBatch)
		if err != nil {
			return err
		}
		due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (t task.Task, err error) {
			return t, r.Scan(&t.ID, &t.UserID, &t.Title, &t.DueDate, &t.Reminders)
		})
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		evts := make([]cloudevents.Event, 0, len(due))
		for _, t := range due {
			rem := t.Reminders[0]
			rem.State, rem.SentAt = task.ReminderSent, &now
			e, err := events.ForReminder("bench", t, task.Fired{Reminder: rem}, now)
			if err != nil {
				return err
			}
			evts = append(evts, e)
			b.Queue(`UPDATE tasks SET reminders = $3, next_remind_at = NULL WHERE id = $1 AND user_id = $2`,
				t.ID, t.UserID, []task.Reminder{rem})
		}
		if err := outbox.Queue(ctx, b, evts...); err != nil {
			return err
		}
		n = len(due)
		return tx.SendBatch(ctx, b).Close()
	})
	return n, err
}
