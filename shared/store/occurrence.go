package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/tracing"
)

// RecordOccurrence handles event eventID for consumer exactly once (a
// batch of one for RecordOccurrences): in one transaction it records the event as processed, loads the completed task
// parentID of userID, inserts the occurrence next builds (unless the parent
// already has one) and queues its event, and stamps the parent's
// recurred_at. A redelivered or concurrently delivered event finds its
// processed_events row and does nothing. A parent that does not exist (or is
// another user's) is stale, like one next rejects.
func (s *Store) RecordOccurrence(ctx context.Context, consumer, eventID, userID, parentID string, next contract.NextFunc) (contract.Outcome, *task.Task, error) {
	handled, err := s.RecordOccurrences(ctx, consumer, []contract.CompletionEvent{{EventID: eventID, UserID: userID, ParentID: parentID, Next: next}})
	if err != nil {
		return "", nil, err
	}
	return handled[0].Outcome, handled[0].Child, handled[0].Err
}

// RecordOccurrences handles a batch of completion events for consumer in
// one transaction, with the effect RecordOccurrence would have on each in
// turn: an event handled before (or earlier in the batch) is a duplicate,
// one its stored task does not confirm is stale and leaves nothing behind,
// a parent gets at most one next occurrence. It takes a fixed number of
// round trips whatever the batch's size. Any other error (the database's,
// or a NextFunc's) rolls the whole batch back; the caller then handles the
// events one at a time to isolate the one at fault.
func (s *Store) RecordOccurrences(ctx context.Context, consumer string, batch []contract.CompletionEvent) ([]contract.Handled, error) {
	ids, parentIDs := make([]string, len(batch)), make([]string, len(batch))
	for i, c := range batch {
		ids[i], parentIDs[i] = c.EventID, c.ParentID
	}
	var out []contract.Handled
	traceOf := map[string]context.Context{} // by child id
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = make([]contract.Handled, len(batch))
		fresh, parents, err := claimEvents(ctx, tx, consumer, ids, parentIDs)
		if err != nil {
			return err
		}
		var (
			stamped  []string
			children []task.Task
			stale    = map[string]bool{}              // not recorded as processed, unless handled later in the batch
			eventOf  = map[string]cloudevents.Event{} // by child id
			childOf  = map[string]bool{}
		)
		for i, c := range batch {
			if !fresh[c.EventID] {
				out[i].Outcome = contract.OutcomeDuplicate
				continue
			}
			parent, ok := parents[c.ParentID]
			var child *task.Task
			var evt *cloudevents.Event
			if !ok || parent.UserID != c.UserID {
				err = fmt.Errorf("%w: no task %s of user %s", contract.ErrStale, c.ParentID, c.UserID)
			} else {
				child, evt, err = c.Next(parent)
			}
			switch {
			case errors.Is(err, contract.ErrStale):
				out[i] = contract.Handled{Outcome: contract.OutcomeStale, Err: err}
				stale[c.EventID] = true
				continue
			case err != nil:
				return err
			}
			delete(fresh, c.EventID) // handled: the same event again in this batch is a duplicate
			delete(stale, c.EventID)
			stamped = append(stamped, c.ParentID)
			switch {
			case child == nil:
				out[i].Outcome = contract.OutcomeNone
			case childOf[c.ParentID]:
				out[i].Outcome = contract.OutcomeExists
			default:
				childOf[c.ParentID] = true
				out[i] = contract.Handled{Outcome: contract.OutcomeCreated, Child: child}
				children = append(children, *child)
				eventOf[child.ID] = *evt
				if c.Trace != nil {
					traceOf[child.ID] = c.Trace
				}
			}
		}
		inserted, err := storeOccurrences(ctx, tx, consumer, slices.Collect(maps.Keys(stale)), stamped, children)
		if err != nil {
			return err
		}
		var queued []cloudevents.Event
		for i := range out {
			if out[i].Outcome != contract.OutcomeCreated {
				continue
			}
			if !inserted[out[i].Child.ID] { // the parent had a next occurrence already
				out[i] = contract.Handled{Outcome: contract.OutcomeExists}
				continue
			}
			evt := eventOf[out[i].Child.ID]
			if tc, ok := traceOf[out[i].Child.ID]; ok {
				tracing.Create(tc, &evt, events.TopicOf(evt))
			}
			queued = append(queued, evt)
		}
		return outbox.EnqueueAll(ctx, tx, queued)
	})
	return out, err
}

// claimEvents records the batch's events as processed by consumer and
// returns the ones that were not already, and the parents, locked.
func claimEvents(ctx context.Context, tx pgx.Tx, consumer string, ids, parentIDs []string) (map[string]bool, map[string]task.Task, error) {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[])
		ON CONFLICT DO NOTHING RETURNING event_id`, consumer, ids)
	b.Queue(`SELECT `+taskColumns+` FROM tasks WHERE id = ANY($1) ORDER BY id FOR UPDATE`, parentIDs)
	res := tx.SendBatch(ctx, b)
	defer res.Close()
	fresh := map[string]bool{}
	rows, err := res.Query()
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, nil, err
		}
		fresh[id] = true
	}
	if rows.Err() != nil {
		return nil, nil, rows.Err()
	}
	parents := map[string]task.Task{}
	if rows, err = res.Query(); err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, nil, err
		}
		parents[t.ID] = t
	}
	return fresh, parents, errors.Join(rows.Err(), res.Close())
}

// storeOccurrences forgets the stale events (as if never handled), stamps
// the parents as recurred and inserts the occurrences, each unless its
// parent already has one; it returns the ids of those inserted.
func storeOccurrences(ctx context.Context, tx pgx.Tx, consumer string, stale, stamped []string, children []task.Task) (map[string]bool, error) {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM processed_events WHERE consumer = $1 AND event_id = ANY($2)`, consumer, stale)
	b.Queue(`UPDATE tasks SET recurred_at = now() WHERE id = ANY($1)`, stamped)
	for _, c := range children {
		b.Queue(insertTaskSQL+` ON CONFLICT (parent_task_id) DO NOTHING`, taskArgs(c)...)
	}
	res := tx.SendBatch(ctx, b)
	defer res.Close()
	for range 2 {
		if _, err := res.Exec(); err != nil {
			return nil, err
		}
	}
	inserted := make(map[string]bool, len(children))
	for _, c := range children {
		tag, err := res.Exec()
		if err != nil {
			return nil, err
		}
		inserted[c.ID] = tag.RowsAffected() == 1
	}
	return inserted, res.Close()
}
