package function

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/todoevents/todo/shared/backoff"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/webhook"
)

// Bounds of the sender: webhooks served at once, deliveries of each taken
// at a time (sent one after the other), the longest sleep between looks at
// the database (a change in this process wakes it earlier), how much of an
// answer is read, how long finished deliveries are kept, how often and in
// what batches they are pruned.
const (
	hooksPerPass     = 32
	perHookPerPass   = 5
	maxNap           = 5 * time.Second
	answerLimit      = 1 << 10
	deliveryRetained = 7 * 24 * time.Hour
	pruneEvery       = time.Hour
	pruneBatch       = 10000
)

// Deliveries is what the sender needs of the database.
type Deliveries interface {
	ClaimDeliveries(ctx context.Context, now time.Time, hooks, perHook int, lease time.Duration) ([]webhook.Send, error)
	RecordOutcomes(ctx context.Context, outcomes []webhook.Outcome, now time.Time, disableAfter time.Duration) ([]string, error)
	NextDeliveryAt(ctx context.Context) (*time.Time, error)
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Sender sends the pending deliveries when they are due, signed per the
// Standard Webhooks specification, and stores how each went. Any number
// of senders may run (every replica runs one): each takes a lease on what
// it sends. One webhook's deliveries go out one after the other, and
// after a failed attempt its others wait for its retry, so a slow or dead
// endpoint holds one slot and no other webhook's.
type Sender struct {
	Deliveries Deliveries
	Client     *http.Client
	Schedule   webhook.Schedule
	Timeout    time.Duration // of one attempt
	Log        zerolog.Logger
	Metrics    *metrics.Metrics
	Now        func() time.Time

	wakeOnce sync.Once
	wake     chan struct{}
}

// Wake asks the sender to look for due deliveries now.
func (s *Sender) Wake() {
	select {
	case s.wakeup() <- struct{}{}:
	default:
	}
}

func (s *Sender) wakeup() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

// Run sends until ctx ends. It claims what is due for as many webhooks as
// it has free slots (hooksPerPass) and sends each webhook's deliveries in
// a goroutine of its own, which stores how they went and frees its slot
// when done: a slow endpoint holds its own slot, never another's.
func (s *Sender) Run(ctx context.Context) error {
	retry := backoff.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	lastPrune := time.Time{}
	free := make(chan struct{}, hooksPerPass)
	for range hooksPerPass {
		free <- struct{}{}
	}
	var wg sync.WaitGroup
	defer wg.Wait() // what was sent is recorded before Run returns
	for ctx.Err() == nil {
		full, err := s.dispatch(ctx, free, &wg)
		if err == nil && s.Now().Sub(lastPrune) >= pruneEvery {
			if err = s.prune(ctx); err == nil {
				lastPrune = s.Now()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			delay := retry.Next()
			s.Log.Warn().Err(err).Dur("retry_in", delay).Msg("delivery pass failed; retrying")
			backoff.Sleep(ctx, delay)
			continue
		}
		retry.Reset()
		if full {
			continue
		}
		nap := maxNap
		if next, err := s.Deliveries.NextDeliveryAt(ctx); err == nil && next != nil {
			nap = min(nap, max(time.Until(*next), 10*time.Millisecond))
		}
		t := time.NewTimer(nap)
		select {
		case <-ctx.Done():
		case <-s.wakeup(): // something was queued, or a slot was freed
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// dispatch claims the deliveries due now for the free slots and starts
// sending them; full says it took all it could (more may be due).
func (s *Sender) dispatch(ctx context.Context, free chan struct{}, wg *sync.WaitGroup) (full bool, err error) {
	slots := len(free)
	if slots == 0 {
		return false, nil // a sender that finishes wakes the loop
	}
	// An attempt takes at most Timeout; the margin covers recording it.
	lease := s.Timeout + 5*time.Second
	claimed, err := s.Deliveries.ClaimDeliveries(ctx, s.Now(), slots, perHookPerPass, lease)
	if err != nil || len(claimed) == 0 {
		return false, err
	}
	byHook := map[string][]webhook.Send{}
	var order []string
	for _, c := range claimed {
		if _, seen := byHook[c.WebhookID]; !seen {
			order = append(order, c.WebhookID)
		}
		byHook[c.WebhookID] = append(byHook[c.WebhookID], c)
	}
	// More may be due when every slot was used, or a webhook gave all a
	// pass takes of it.
	full = len(order) == slots
	for _, id := range order {
		sends := byHook[id]
		full = full || len(sends) == perHookPerPass
		<-free
		wg.Go(func() {
			defer func() {
				free <- struct{}{}
				s.Wake()
			}()
			s.record(ctx, s.sendAll(ctx, sends))
		})
	}
	return full, nil
}

// record stores how one webhook's deliveries went, even when ctx ended:
// what was sent is recorded, not sent again after the lease. When it
// cannot be stored, the leases run out and the deliveries are sent again,
// under the same webhook-id.
func (s *Sender) record(ctx context.Context, outcomes []webhook.Outcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	disabled, err := s.Deliveries.RecordOutcomes(ctx, outcomes, s.Now(), s.Schedule.DisableAfter)
	if err != nil {
		s.Log.Warn().Err(err).Int("deliveries", len(outcomes)).Msg("storing how deliveries went failed; they are sent again when their lease ends")
		return
	}
	for _, id := range disabled {
		s.Metrics.WebhooksDisabled.Inc()
		s.Log.Warn().Str("webhook_id", id).Dur("failing_for", s.Schedule.DisableAfter).Msg("webhook disabled: every delivery failed")
	}
}

// prune deletes finished deliveries older than deliveryRetained, in
// batches until none is left, so the table keeps up however many are
// sent.
func (s *Sender) prune(ctx context.Context) error {
	var total int64
	for {
		n, err := s.Deliveries.PruneDeliveries(ctx, s.Now().Add(-deliveryRetained), pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			if total > 0 {
				s.Log.Info().Int64("deleted", total).Msg("finished deliveries pruned")
			}
			return err
		}
	}
}

// sendAll sends one webhook's deliveries in order; after a failed attempt
// the rest are put back to be tried with it. When ctx ends (shutdown), what
// was not sent, or cut off while being sent, is put back due at once for
// another sender, without counting as an attempt.
func (s *Sender) sendAll(ctx context.Context, sends []webhook.Send) []webhook.Outcome {
	out := make([]webhook.Outcome, 0, len(sends))
	putBack := func(rest []webhook.Send, at time.Time) {
		for _, d := range rest {
			out = append(out, webhook.Outcome{DeliveryID: d.ID, WebhookID: d.WebhookID, At: at, Next: &at})
		}
	}
	for i, d := range sends {
		if ctx.Err() != nil {
			putBack(sends[i:], s.Now())
			break
		}
		o := s.attempt(ctx, d)
		if ctx.Err() != nil && !o.Delivered {
			putBack(sends[i:], s.Now())
			break
		}
		out = append(out, o)
		if o.Delivered || !o.Tried {
			continue
		}
		later := o.At.Add(s.Schedule.Delays[0])
		if o.Next != nil {
			later = *o.Next
		}
		putBack(sends[i+1:], later)
		break
	}
	return out
}

// attempt sends one delivery: a POST of its payload with the webhook-id,
// webhook-timestamp and webhook-signature headers. A 2xx answer delivers
// it; anything else (another status, a redirect, a refused address, a
// timeout) is a failed attempt, tried again on the schedule.
func (s *Sender) attempt(ctx context.Context, d webhook.Send) webhook.Outcome {
	now := s.Now()
	o := webhook.Outcome{DeliveryID: d.ID, WebhookID: d.WebhookID, At: now, Tried: true}
	if d.Disabled {
		o.Error = "not sent: the webhook was disabled"
		s.Metrics.WebhookDeliveries.WithLabelValues("gave_up").Inc()
		return o
	}
	status, err := s.post(ctx, d, now)
	o.Status = status
	if err == nil {
		o.Delivered = true
		s.Metrics.WebhookDeliveries.WithLabelValues("delivered").Inc()
		return o
	}
	o.Error = err.Error()
	if next, ok := s.Schedule.Next(d.Attempts+1, d.CreatedAt, now, rand.Float64()); ok {
		o.Next = &next
		s.Metrics.WebhookDeliveries.WithLabelValues("failed_attempt").Inc()
	} else {
		s.Metrics.WebhookDeliveries.WithLabelValues("gave_up").Inc()
	}
	s.Log.Info().Str("delivery_id", d.ID).Str("webhook_id", d.WebhookID).Int("attempt", d.Attempts+1).
		Str("error", o.Error).Bool("retrying", o.Next != nil).Msg("webhook delivery failed")
	return o
}

// post sends d and returns the answer's status (nil when none came) and
// what went wrong.
func (s *Sender) post(ctx context.Context, d webhook.Send, now time.Time) (*int, error) {
	signer, err := standardwebhooks.NewWebhook(d.Secret)
	if err != nil {
		return nil, fmt.Errorf("the webhook's secret cannot sign: %v", err)
	}
	signature, err := signer.Sign(d.ID, now, d.Payload)
	if err != nil {
		return nil, fmt.Errorf("signing failed: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return nil, fmt.Errorf("the URL cannot be requested: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "todo-notify/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", signature)
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, s.describe(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, answerLimit))
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		return &status, nil
	case status >= 300 && status < 400:
		return &status, fmt.Errorf("HTTP %d: redirects are not followed (register the URL it points to)", status)
	}
	return &status, fmt.Errorf("HTTP %d: %s", status, printable(answer))
}

// describe says why a request got no answer, without the URL (the
// delivery names its webhook).
func (s *Sender) describe(err error) error {
	var refused *refusedAddress
	var netErr net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within %s", s.Timeout)
	case errors.As(err, &ue):
		return ue.Err
	}
	return err
}

// printable is an answer's start as text for the delivery's last error.
func printable(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes, not text)", len(b))
	}
	return string(bytes.TrimSpace(b))
}
