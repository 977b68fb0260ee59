package store

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/task"
)

// Outcome says what handling one completion event did.
type Outcome string

// Outcomes of RecordOccurrence.
const (
	OutcomeCreated   Outcome = "created"   // a next occurrence was inserted
	OutcomeDuplicate Outcome = "duplicate" // this event was handled before
	OutcomeExists    Outcome = "exists"    // the parent already has a next occurrence
	OutcomeNone      Outcome = "none"      // the series has ended
)

// NextFunc builds the next occurrence of parent and the event announcing it,
// or returns a nil task when the series has no further occurrence.
type NextFunc func(parent task.Task) (*task.Task, *cloudevents.Event, error)

// RecordOccurrence handles event eventID for consumer exactly once: in one
// transaction it records the event as processed, loads the completed task
// parentID of userID, inserts the occurrence next builds (unless the parent
// already has one) and queues its event. A redelivered or concurrently
// delivered event finds its processed_events row and does nothing.
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
		parent, err := getTask(ctx, tx, userID, parentID, false)
		if err != nil {
			return err
		}
		c, evt, err := next(parent)
		if err != nil {
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
		return enqueue(ctx, tx, *evt)
	})
	return outcome, child, err
}
