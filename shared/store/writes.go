package store

import (
	"context"
	"errors"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/task"
)

// CreateTask takes a token of t's user's write budget, inserts t and, in the
// same transaction, queues the event that announces it. A parent task must
// exist and belong to the same user.
func (s *Store) CreateTask(ctx context.Context, t task.Task, evt cloudevents.Event) error {
	if t.ParentTaskID != nil { // the parent is read first
		return s.inTx(ctx, func(tx pgx.Tx) error { return s.createTask(ctx, tx, t, evt) })
	}
	// A batch sent outside a transaction runs as one implicit transaction:
	// the write token, the task and its event in a single round trip.
	b, err := s.createBatch(ctx, t, evt)
	if err != nil {
		return err
	}
	return classify(createErr(t, s.Pool.SendBatch(ctx, b).Close()))
}

// CreateTaskOnce creates t as CreateTask does, unless once's key was used
// by the user within IdempotencyKeyTTL: then, if the digest is the same,
// it returns the task that request created (replayed true) and writes
// nothing; with another digest it is an error. Concurrent requests with
// one key wait for each other on the key's row.
func (s *Store) CreateTaskOnce(ctx context.Context, t task.Task, evt cloudevents.Event, once contract.Once) (task.Task, bool, error) {
	first, replayed := t, false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, digest, response) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, key) DO UPDATE SET digest = EXCLUDED.digest, response = EXCLUDED.response, created_at = now()
			WHERE idempotency_keys.created_at < now() - make_interval(secs => $5)`,
			t.UserID, once.Key, once.Digest, t, contract.IdempotencyKeyTTL.Seconds())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return s.createTask(ctx, tx, t, evt)
		}
		var digest string
		if err := tx.QueryRow(ctx, `SELECT digest, response FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
			t.UserID, once.Key).Scan(&digest, &first); err != nil {
			return err
		}
		if digest != once.Digest {
			return apperr.New(apperr.KeyReused, "Idempotency-Key %q was used for another request body", once.Key)
		}
		replayed = true
		return nil
	})
	return first, replayed, err
}

// PurgeIdempotencyKeys forgets idempotency keys older than
// IdempotencyKeyTTL and returns how many.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`,
		contract.IdempotencyKeyTTL.Seconds())
	return tag.RowsAffected(), classify(err)
}

func (s *Store) createTask(ctx context.Context, tx pgx.Tx, t task.Task, evt cloudevents.Event) error {
	if t.ParentTaskID != nil {
		if _, err := getTask(ctx, tx, t.UserID, *t.ParentTaskID, false); err != nil {
			if apperr.CodeOf(err) == apperr.NotFound {
				return apperr.Field("parent_task_id", "no task %s of this user", *t.ParentTaskID)
			}
			return err
		}
	}
	b, err := s.createBatch(ctx, t, evt)
	if err != nil {
		return err
	}
	return createErr(t, tx.SendBatch(ctx, b).Close())
}

// createBatch is the write token of t's user, the insert of t and of its
// event.
func (s *Store) createBatch(ctx context.Context, t task.Task, evt cloudevents.Event) (*pgx.Batch, error) {
	b := &pgx.Batch{}
	s.queueWriteToken(b, t.UserID)
	b.Queue(insertTaskSQL, taskArgs(t)...)
	return b, outbox.Queue(ctx, b, evt)
}

// createErr names the conflicts the insert of t can meet.
func createErr(t task.Task, err error) error {
	if isUniqueViolation(err, "tasks_parent_task_id_key") {
		return apperr.New(apperr.Conflict, "task %s already has a next occurrence", *t.ParentTaskID)
	}
	if isUniqueViolation(err, "tasks_pkey") {
		return apperr.New(apperr.Conflict, "task %s already exists", t.ID)
	}
	return err
}

// UpdateTask loads task id of userID under a row lock, applies mutate and, if
// it produced an event, takes a token of the user's write budget, saves the
// task and queues the event in the same transaction. It returns the task as
// stored afterwards.
func (s *Store) UpdateTask(ctx context.Context, userID, id string, mutate contract.Mutation) (task.Task, error) {
	var out task.Task
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		t, err := getTask(ctx, tx, userID, id, true)
		if err != nil {
			return err
		}
		evt, err := mutate(&t)
		if err != nil || evt == nil {
			out = t
			return err
		}
		if !t.Closed() {
			t.ArchivedAt = nil // reopened: back in the lists (the table's trigger says the same)
		}
		b := &pgx.Batch{}
		s.queueWriteToken(b, userID)
		queueSave(b, t)
		if err := outbox.Queue(ctx, b, *evt); err != nil {
			return err
		}
		out = t
		return tx.SendBatch(ctx, b).Close()
	})
	return out, err
}

// queueSave adds to b the update that stores t, whose row is locked.
func queueSave(b *pgx.Batch, t task.Task) {
	b.Queue(`UPDATE tasks SET title=$3, description=$4, status=$5, priority=$6, tags=$7,
		due_date=$8, timezone=$9, recurring_type=$10, recurrence_basis=$11, recurring_end_date=$12,
		series_anchor=$13, parent_task_id=$14, completed_at=$15, created_at=$16, updated_at=$17,
		recurrence_rule=$18, occurrence=$19, skipped_at=$20, reminders=$21, archived_at=$22, next_remind_at=$23,
		recurred_at = CASE WHEN $5 IN ('done', 'skipped') THEN recurred_at END
		WHERE id=$1 AND user_id=$2`, taskArgs(t)...).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != 1 {
			return errors.New("task vanished during update")
		}
		return nil
	})
}

// DeleteTask takes a token of userID's write budget, deletes task id of
// userID and, in the same transaction, queues the event announced builds
// from it. Its next occurrence, if any, stays,
// with parent_task_id cleared (the schema's ON DELETE SET NULL).
func (s *Store) DeleteTask(ctx context.Context, userID, id string, announced func(task.Task) (cloudevents.Event, error)) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		t, err := getTask(ctx, tx, userID, id, true)
		if err != nil {
			return err
		}
		evt, err := announced(t)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		s.queueWriteToken(b, userID)
		b.Queue(`DELETE FROM tasks WHERE id = $1 AND user_id = $2`, id, userID)
		if err := outbox.Queue(ctx, b, evt); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
}
