// Package backoff spaces out retries: delays double from a minimum to a
// maximum, and every wait ends early when its context does.
package backoff

import (
	"context"
	"time"
)

// Backoff hands out doubling delays. The zero value uses 100 ms to 10 s.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the delay to wait now and doubles the following one.
func (b *Backoff) Next() time.Duration {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(10*time.Second, b.Min)
	}
	d := max(b.next, b.Min)
	b.next = min(d*2, b.Max)
	return d
}

// Reset starts the delays from the minimum again.
func (b *Backoff) Reset() { b.next = 0 }

// Wait sleeps the next delay; it reports false when ctx ended first.
func (b *Backoff) Wait(ctx context.Context) bool { return Sleep(ctx, b.Next()) }

// Sleep waits d or until ctx ends; it reports whether the full wait passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
