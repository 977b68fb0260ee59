package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelaysDoubleUpToMaxAndReset(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: time.Second, Max: 5 * time.Second}
	want := []time.Duration{1, 2, 4, 5, 5}
	for i, w := range want {
		if got := b.Next(); got != w*time.Second {
			t.Fatalf("delay %d = %v, want %v", i, got, w*time.Second)
		}
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Fatalf("after reset %v, want 1s", got)
	}
	var zero Backoff
	if got := zero.Next(); got != 100*time.Millisecond {
		t.Fatalf("zero value starts at %v, want 100ms", got)
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
