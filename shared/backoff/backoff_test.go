package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelaysGrowWithJitterUpToMaxAndReset(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: time.Second, Max: 5 * time.Second}
	// Each delay is the interval (growing 1.5 times) ±50 %, capped at Max.
	centres := []float64{1, 1.5, 2.25, 3.375, 5, 5}
	for i, c := range centres {
		got, centre := b.Next(), time.Duration(float64(c)*float64(time.Second))
		if got < centre/2 || got > centre*3/2 {
			t.Fatalf("delay %d = %v, want %v ±50%%", i, got, centre)
		}
	}
	b.Reset()
	if got := b.Next(); got < 500*time.Millisecond || got > 1500*time.Millisecond {
		t.Fatalf("after reset %v, want 1s ±50%%", got)
	}
	var zero Backoff
	if got := zero.Next(); got < 50*time.Millisecond || got > 150*time.Millisecond {
		t.Fatalf("zero value starts at %v, want 100ms ±50%%", got)
	}
}

func TestJitterSpreadsRetries(t *testing.T) {
	t.Parallel()
	seen := map[time.Duration]bool{}
	for range 20 {
		b := Backoff{Min: time.Second}
		seen[b.Next()] = true
	}
	if len(seen) < 10 {
		t.Fatalf("20 fresh backoffs gave only %d distinct first delays: no jitter", len(seen))
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if (&Backoff{Min: time.Minute}).Wait(ctx) || time.Since(start) > time.Second {
		t.Fatal("wait did not end with its context")
	}
}
