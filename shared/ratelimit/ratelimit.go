// Package ratelimit keeps one token bucket (golang.org/x/time/rate) per key:
// per user on the API, per client on the push endpoints.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed limits each key to PerSecond events with bursts of Burst. The zero
// value, or PerSecond <= 0, allows everything. Buckets that have refilled
// are forgotten, so memory follows the number of active keys.
type Keyed struct {
	PerSecond float64
	Burst     int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

// New limits each key to perSecond with bursts of five seconds' worth.
func New(perSecond float64) *Keyed {
	return &Keyed{PerSecond: perSecond, Burst: max(1, int(5*perSecond))}
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// Allow takes one token from key's bucket. When none is left it reports
// false and how long until one is.
func (k *Keyed) Allow(key string) (bool, time.Duration) {
	if k == nil || k.PerSecond <= 0 {
		return true, 0
	}
	now := time.Now()
	if k.Now != nil {
		now = k.Now()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweep(now)
	b, ok := k.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(k.PerSecond), k.burst())}
		k.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

func (k *Keyed) burst() int { return max(k.Burst, 1) }

// refill is how long an idle bucket takes to be full again, after which it
// is the same as a new one.
func (k *Keyed) refill() time.Duration {
	return time.Duration(math.Ceil(float64(k.burst()) / k.PerSecond * float64(time.Second)))
}

// sweep forgets full buckets, at most once per refill period; k.mu is held.
func (k *Keyed) sweep(now time.Time) {
	if k.buckets == nil {
		k.buckets = map[string]*bucket{}
	}
	if now.Before(k.sweepAt) {
		return
	}
	idle := k.refill()
	for key, b := range k.buckets {
		if now.Sub(b.last) >= idle {
			delete(k.buckets, key)
		}
	}
	k.sweepAt = now.Add(idle)
}

// Len returns the number of buckets kept (for tests and metrics).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
