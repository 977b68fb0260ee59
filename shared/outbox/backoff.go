package outbox

import (
	"context"
	"time"
)

type backoff struct{ next time.Duration }

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

func newBackoff() *backoff { return &backoff{next: minBackoff} }

func (b *backoff) reset() { b.next = minBackoff }

func (b *backoff) wait(ctx context.Context) {
	sleep(ctx, b.next)
	b.next = min(b.next*2, maxBackoff)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
