package ratelimit

import (
	"testing"
	"time"
)

func TestKeyedBucketsLimitEachKeyAndForgetIdleOnes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := &Keyed{PerSecond: 2, Burst: 3, Now: func() time.Time { return now }}
	for i := range 3 {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := k.Allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("fourth request: allowed %v, retry after %v; want refused, about 500ms", ok, wait)
	}
	if ok, _ := k.Allow("b"); !ok {
		t.Fatal("another key shares the first key's bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := k.Allow("a"); !ok {
		t.Fatal("a refilled token was refused")
	}
	now = now.Add(10 * time.Second)
	k.Allow("c")
	if n := k.Len(); n != 1 {
		t.Fatalf("%d buckets kept after the others refilled, want 1", n)
	}
}

func TestZeroRateAllowsEverything(t *testing.T) {
	t.Parallel()
	var k Keyed
	for range 1000 {
		if ok, _ := k.Allow("x"); !ok {
			t.Fatal("refused without a rate")
		}
	}
	var nilK *Keyed
	if ok, _ := nilK.Allow("x"); !ok {
		t.Fatal("nil limiter refused")
	}
}
