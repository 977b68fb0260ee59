package store

import (
	"context"
	"errors"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/task"
)

// Outcome says what handling one completion event did.
type Outcome string

// Outcomes of RecordOccurrence.
const (
	OutcomeCreated   Outcome = "created"   // a next occurrence was inserted
	OutcomeDuplicate Outcome = "duplicate" // this event was handled before
	OutcomeExists    Outcome = "exists"    // the parent already has a next occurrence
	OutcomeNone      Outcome = "none"      // the task does not recur, or its series has ended
	OutcomeStale     Outcome = "stale"     // the stored task does not confirm the event; nothing changed
)

// ErrStale is wrapped by a NextFunc error saying the stored task does not
// confirm the completion event (not done, or done at another time). The
// transaction is rolled back and RecordOccurrence returns OutcomeStale with
// the error, whose text says why.
var ErrStale = errors.New("stale completion")

// NextFunc builds the next occurrence of parent, as stored and locked, and
// the event announcing it, or returns a nil task when the series has no
// further occurrence. An error wrapping ErrStale rejects the event.
type NextFunc func(parent task.Task) (*task.Task, *cloudevents.Event, error)

// RecordOccurrence handles event eventID for consumer exactly once: in one
// transaction it records the event as processed, loads the completed task
// parentID of userID, inserts the occurrence next builds (unless the parent
// already has one) and queues its event, and stamps the parent's
// recurred_at. A redelivered or concurrently delivered event finds its
// processed_events row and does nothing. A parent that does not exist (or is
// another user's) is stale, like one next rejects.
func (s *Store) RecordOccurrence(ctx context.Context, consumer, eventID, userID, parentID string, next NextFunc) (Outcome, *task.Task, error) {
	var (
		outcome Outcome
		child   *task.Task
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		outcome, child = "", nil
		tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, consumer, eventID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			outcome = OutcomeDuplicate
			return nil
		}
		parent, err := getTask(ctx, tx, userID, parentID, true)
		if apperr.CodeOf(err) == apperr.NotFound {
			return fmt.Errorf("%w: no task %s of user %s", ErrStale, parentID, userID)
		}
		if err != nil {
			return err
		}
		c, evt, err := next(parent)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tasks SET recurred_at = now() WHERE id = $1`, parentID); err != nil {
			return err
		}
		if c == nil {
			outcome = OutcomeNone
			return nil
		}
		tag, err = tx.Exec(ctx, insertTaskSQL+` ON CONFLICT (parent_task_id) DO NOTHING`, taskArgs(*c)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			outcome = OutcomeExists
			return nil
		}
		outcome, child = OutcomeCreated, c
		return outbox.Enqueue(ctx, tx, *evt)
	})
	if errors.Is(err, ErrStale) {
		return OutcomeStale, nil, err
	}
	return outcome, child, err
}
