// Package backoff spaces out retries with cenkalti/backoff's exponential
// backoff and its jitter (±50 %), so that several relays or consumers that
// failed together do not retry in lockstep; every wait ends early when its
// context does.
package backoff

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Backoff hands out growing, jittered delays from Min to Max; it never gives
// up. The zero value uses 100 ms to 10 s.
type Backoff struct {
	Min, Max time.Duration
	exp      *backoff.ExponentialBackOff
}

func (b *Backoff) init() {
	if b.exp != nil {
		return
	}
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(10*time.Second, b.Min)
	}
	b.exp = backoff.NewExponentialBackOff()
	b.exp.InitialInterval, b.exp.MaxInterval = b.Min, b.Max
	b.exp.Reset()
}

// Next returns the delay to wait now.
func (b *Backoff) Next() time.Duration {
	b.init()
	return b.exp.NextBackOff()
}

// Reset starts the delays from the minimum again.
func (b *Backoff) Reset() {
	b.init()
	b.exp.Reset()
}

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
