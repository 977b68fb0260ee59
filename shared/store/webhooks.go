package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/webhook"
)

const webhookColumns = `id, user_id, url, events, created_at, failing_since, disabled_at, coalesce(disabled_reason, '')`

func scanWebhook(row pgx.Row) (webhook.Webhook, error) {
	var w webhook.Webhook
	err := row.Scan(&w.ID, &w.UserID, &w.URL, &w.Events, &w.CreatedAt, &w.FailingSince, &w.DisabledAt, &w.DisabledReason)
	w.State = webhook.Active
	if w.DisabledAt != nil {
		w.State = webhook.Disabled
	}
	return w, err
}

// CreateWebhook stores w (its ID, UserID, URL, Events, Secret and
// CreatedAt set), unless its user already has webhook.MaxPerUser. It takes
// a token of the user's write budget.
func (s *Store) CreateWebhook(ctx context.Context, w webhook.Webhook) (webhook.Webhook, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		s.queueWriteToken(b, w.UserID)
		// Serializes one user's creations, so the bound holds under races.
		b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('webhooks/' || $1, 0))`, w.UserID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhooks WHERE user_id = $1`, w.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= webhook.MaxPerUser {
			return apperr.New(apperr.Conflict, "a user may have at most %d webhooks; delete one first", webhook.MaxPerUser)
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (id, user_id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			w.ID, w.UserID, w.URL, w.Events, w.Secret, w.CreatedAt)
		return err
	})
	w.State = webhook.Active
	return w, err
}

// ListWebhooks returns userID's webhooks, oldest first (without secrets).
func (s *Store) ListWebhooks(ctx context.Context, userID string) ([]webhook.Webhook, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, classify(err)
	}
	hooks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Webhook, error) { return scanWebhook(r) })
	if hooks == nil {
		hooks = []webhook.Webhook{}
	}
	return hooks, classify(err)
}

// GetWebhook returns userID's webhook id; another user's is not found.
func (s *Store) GetWebhook(ctx context.Context, userID, id string) (webhook.Webhook, error) {
	w, err := scanWebhook(s.Pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1 AND user_id = $2`, id, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, apperr.New(apperr.NotFound, "webhook %s not found", id)
	}
	return w, classify(err)
}

// DeleteWebhook deletes userID's webhook id and its deliveries (pending
// ones are not sent). It takes a token of the user's write budget.
func (s *Store) DeleteWebhook(ctx context.Context, userID, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		s.queueWriteToken(b, userID)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND user_id = $2`, id, userID)
		if err == nil && tag.RowsAffected() == 0 {
			return apperr.New(apperr.NotFound, "webhook %s not found", id)
		}
		return err
	})
}

// EnqueueDeliveries adds a pending delivery, due now, of each event for
// each active webhook of its user that wants it and existed when the event
// happened. An event already queued for a webhook adds nothing (a
// redelivered record). It returns how many deliveries it added.
func (s *Store) EnqueueDeliveries(ctx context.Context, evts []webhook.Event, now time.Time) (int64, error) {
	if len(evts) == 0 {
		return 0, nil
	}
	ids, users, types, ats, payloads := make([]string, len(evts)), make([]string, len(evts)), make([]string, len(evts)),
		make([]time.Time, len(evts)), make([]string, len(evts))
	for i, e := range evts {
		ids[i], users[i], types[i], ats[i], payloads[i] = e.ID, e.UserID, e.Type, e.Time, string(e.Payload)
	}
	tag, err := s.Pool.Exec(ctx, `INSERT INTO webhook_deliveries
			(id, webhook_id, user_id, event_id, event_type, payload, state, created_at, next_attempt_at)
		SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.id, w.user_id, e.id, e.type, e.payload, 'pending', $6, $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) WITH ORDINALITY AS e (id, user_id, type, at, payload, n)
		JOIN webhooks w ON w.user_id = e.user_id AND e.type = ANY (w.events) AND w.disabled_at IS NULL AND w.created_at <= e.at
		ORDER BY e.n
		ON CONFLICT (webhook_id, event_id) DO NOTHING`, ids, users, types, ats, payloads, now)
	return tag.RowsAffected(), classify(err)
}

// ClaimDeliveries takes the deliveries due by now of at most hooks
// webhooks, at most perHook of each (earliest first, and in the order of
// their events; returned in that order per webhook), so one endpoint's
// backlog cannot fill a pass, and leases them: the k-th of a webhook is
// not due again until now + k×lease (it is sent after the k-1 before it),
// so another sender leaves them, and a crashed sender's are tried again
// soon after, in their order.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, hooks, perHook int, lease time.Duration) ([]webhook.Send, error) {
	var claimed []webhook.Send
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH hooks AS (
				SELECT DISTINCT webhook_id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 LIMIT $2
			), due AS (
				SELECT d.id, row_number() OVER (PARTITION BY h.webhook_id ORDER BY d.next_attempt_at, d.seq) AS k
				FROM hooks h CROSS JOIN LATERAL (
					SELECT id, next_attempt_at, seq FROM webhook_deliveries d
					WHERE d.webhook_id = h.webhook_id AND d.state = 'pending' AND d.next_attempt_at <= $1
					ORDER BY d.next_attempt_at, d.seq LIMIT $3 FOR UPDATE SKIP LOCKED) d
			), claimed AS (
				UPDATE webhook_deliveries d SET next_attempt_at = $1 + make_interval(secs => $4 * due.k)
				FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id
				RETURNING d.id, d.webhook_id, d.event_id, d.event_type, d.attempts, d.created_at, d.last_attempt_at,
					d.last_status, coalesce(d.last_error, '') AS last_error, d.payload, w.url, w.secret,
					w.disabled_at IS NOT NULL AS disabled, d.seq
			)
			SELECT id, webhook_id, event_id, event_type, attempts, created_at, last_attempt_at, last_status, last_error,
				payload, url, secret, disabled FROM claimed ORDER BY webhook_id, seq`,
			now, hooks, perHook, lease.Seconds())
		if err != nil {
			return err
		}
		claimed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Send, error) {
			var d webhook.Send
			var payload string
			err := r.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Type, &d.Attempts, &d.CreatedAt, &d.LastAttemptAt,
				&d.LastStatus, &d.LastError, &payload, &d.URL, &d.Secret, &d.Disabled)
			d.State, d.Payload = webhook.Pending, []byte(payload)
			return d, err
		})
		return err
	})
	return claimed, err
}

// RecordOutcomes stores how claimed deliveries went, in one transaction: a
// delivery delivered or finished as failed, one to be tried again at its
// Next, one put back without an attempt. A webhook that answered is no
// longer failing; one whose attempts have all failed for disableAfter is
// disabled (its pending deliveries fail with it). It returns the ids of
// the webhooks it disabled.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []webhook.Outcome, now time.Time, disableAfter time.Duration) ([]string, error) {
	var disabled []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		disabled = nil
		b := &pgx.Batch{}
		lastError := map[string]string{}
		for _, o := range outcomes {
			switch {
			case !o.Tried:
				b.Queue(`UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1 AND state = 'pending'`, o.DeliveryID, o.Next)
				continue
			case o.Delivered:
				b.Queue(`UPDATE webhooks SET failing_since = NULL WHERE id = $1`, o.WebhookID)
				delete(lastError, o.WebhookID)
			default:
				b.Queue(`UPDATE webhooks SET failing_since = coalesce(failing_since, $2) WHERE id = $1`, o.WebhookID, o.At)
				lastError[o.WebhookID] = o.Error
				if o.Next != nil {
					// The webhook's other pending deliveries wait for this
					// retry: a failing endpoint's backlog is not taken
					// again and again meanwhile, and stays in order.
					b.Queue(`UPDATE webhook_deliveries SET next_attempt_at = $2
						WHERE webhook_id = $1 AND state = 'pending' AND next_attempt_at < $2 AND id <> $3`, o.WebhookID, o.Next, o.DeliveryID)
				}
			}
			state := webhook.Pending
			switch {
			case o.Delivered:
				state = webhook.Delivered
			case o.Next == nil:
				state = webhook.Failed
			}
			var lastErr *string
			if o.Error != "" {
				e := truncate(o.Error, 1024)
				lastErr = &e
			}
			b.Queue(`UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_attempt_at = $3, last_status = $4,
					last_error = $5, next_attempt_at = $6, finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $3::timestamptz END
				WHERE id = $1 AND state = 'pending'`, o.DeliveryID, state, o.At, o.Status, lastErr, o.Next)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for id, lastErr := range lastError {
			var got string
			err := tx.QueryRow(ctx, `UPDATE webhooks SET disabled_at = $2, disabled_reason = left(format(
					'every delivery failed since %s; the last: %s', to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), $3::text), 1024)
				WHERE id = $1 AND disabled_at IS NULL AND failing_since <= $2::timestamptz - make_interval(secs => $4) RETURNING id`,
				id, now, lastErr, disableAfter.Seconds()).Scan(&got)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				continue
			case err != nil:
				return err
			}
			disabled = append(disabled, got)
		}
		if len(disabled) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, finished_at = $2,
				last_error = 'not sent: the webhook was disabled'
			WHERE webhook_id = ANY ($1) AND state = 'pending'`, disabled, now)
		return err
	})
	return disabled, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n]
}

// ListDeliveries returns the newest deliveries (at most limit) of userID's
// webhook id; another user's webhook is not found.
func (s *Store) ListDeliveries(ctx context.Context, userID, id string, limit int) ([]webhook.Delivery, error) {
	if _, err := s.GetWebhook(ctx, userID, id); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, webhook_id, event_id, event_type, state, attempts, created_at, next_attempt_at,
			last_attempt_at, last_status, coalesce(last_error, ''), finished_at
		FROM webhook_deliveries WHERE webhook_id = $1 AND user_id = $2 ORDER BY seq DESC LIMIT $3`, id, userID, limit)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Delivery, error) {
		var d webhook.Delivery
		err := r.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Type, &d.State, &d.Attempts, &d.CreatedAt, &d.NextAttemptAt,
			&d.LastAttemptAt, &d.LastStatus, &d.LastError, &d.FinishedAt)
		return d, err
	})
	if out == nil {
		out = []webhook.Delivery{}
	}
	return out, classify(err)
}

// NextDeliveryAt is when the earliest pending delivery is due (nil when
// none is pending).
func (s *Store) NextDeliveryAt(ctx context.Context) (*time.Time, error) {
	var next *time.Time
	err := s.Pool.QueryRow(ctx, `SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&next)
	return next, classify(err)
}

// DeliveryQueue counts the pending deliveries: not yet tried, and to be
// tried again after failed attempts (the retry queue).
func (s *Store) DeliveryQueue(ctx context.Context) (fresh, retrying int64, err error) {
	err = s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE attempts = 0), count(*) FILTER (WHERE attempts > 0)
		FROM webhook_deliveries WHERE state = 'pending'`).Scan(&fresh, &retrying)
	return fresh, retrying, classify(err)
}

// PruneDeliveries deletes at most limit deliveries that finished before
// before, and returns how many.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1 LIMIT $2)`, before, limit)
	return tag.RowsAffected(), classify(err)
}
