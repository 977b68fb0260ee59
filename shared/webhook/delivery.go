package webhook

import (
	"encoding/json"
	"time"
)

// Delivery states: pending (to be tried, perhaps again), delivered (the
// endpoint answered 2xx), failed (given up: the retry period passed, or
// the webhook was disabled).
const (
	Pending   = "pending"
	Delivered = "delivered"
	Failed    = "failed"
)

// Delivery is one event for one webhook, and how sending it went. ID is
// the webhook-id of every attempt, so a receiver drops the repeats.
type Delivery struct {
	ID            string     `json:"id"`
	WebhookID     string     `json:"webhook_id"`
	EventID       string     `json:"event_id"`
	Type          string     `json:"type"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// LastStatus is the last answer's HTTP status (nil when none came:
	// refused, timed out, unreachable); LastError says what went wrong.
	LastStatus *int       `json:"last_status"`
	LastError  string     `json:"last_error,omitempty"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Send is a claimed delivery: what to send, where, signed with which
// secret. Disabled says the webhook was disabled since (nothing is sent).
type Send struct {
	Delivery
	Payload  []byte
	URL      string
	Secret   string
	Disabled bool
}

// Outcome is how one claimed delivery went. Tried is false for one not
// attempted (put back behind a failed attempt to the same webhook, without
// counting). Next is when to try again; nil finishes the delivery:
// delivered, or failed for good.
type Outcome struct {
	DeliveryID, WebhookID string
	At                    time.Time
	Tried, Delivered      bool
	Status                *int
	Error                 string
	Next                  *time.Time
}

// Event is an event to deliver to the user's webhooks that want it.
type Event struct {
	ID     string
	UserID string
	Type   string // an event name of Events
	Time   time.Time
	// Payload is the body every attempt sends (and signs).
	Payload []byte
}

// Payload is the body of a delivery, the shape the Standard Webhooks
// specification recommends: the event's name, when it happened and its
// data.
func Payload(name string, at time.Time, data json.RawMessage) ([]byte, error) {
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{name, at.UTC(), data})
}

// Schedule is when failed attempts are tried again: after the i-th failed
// attempt, Delays[i-1] later (the last delay repeating), each moved by up
// to Jitter of itself either way, for as long as Period after the delivery
// was created; after that the delivery has failed. A webhook whose
// attempts have all failed for DisableAfter is disabled.
type Schedule struct {
	Delays       []time.Duration
	Jitter       float64
	Period       time.Duration
	DisableAfter time.Duration
}

// DefaultSchedule tries again after about 1 s, 5 s, 30 s, 2 min, 10 min,
// 1 h, then hourly, for a day.
var DefaultSchedule = Schedule{
	Delays: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour},
	Jitter: 0.2, Period: 24 * time.Hour, DisableAfter: 24 * time.Hour,
}

// Next is when to try again after attempts failed attempts, the last at
// now, of a delivery created at created; ok is false when there is no next
// attempt (the period is over). r is a random number in [0, 1) that
// places the jitter.
func (s Schedule) Next(attempts int, created, now time.Time, r float64) (time.Time, bool) {
	if len(s.Delays) == 0 || attempts < 1 {
		return now, attempts < 1
	}
	d := s.Delays[min(attempts, len(s.Delays))-1]
	d += time.Duration((2*r - 1) * s.Jitter * float64(d))
	next := now.Add(d)
	if next.After(created.Add(s.Period)) {
		return time.Time{}, false
	}
	return next, true
}
