package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/todoevents/todo/dev/otlpsink"
)

// tracingResult is scenario 7: create-task at 32 clients with tracing off
// (the default) and on (every span exported to a receiver in the bench),
// alternating, the functions restarted between.
type tracingResult struct {
	Clients int     `json:"clients"`
	Off     run     `json:"off"`
	On      run     `json:"on"`
	Ratio   float64 `json:"ratio_on_to_off"`
	// SpansPerRequest is how many spans the receiver got per request
	// traced, in all and by name.
	SpansPerRequest float64            `json:"spans_per_request"`
	ByName          map[string]float64 `json:"spans_per_request_by_name"`
}

// tracingCost is scenario 7.
func tracingCost(ctx context.Context, s *system, rep *report, d time.Duration, rounds int) error {
	sink, err := otlpsink.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sink.Close()
	sink.Max = 1 // counted, not kept
	var (
		mu     sync.Mutex
		spans  int
		byName = map[string]int{}
	)
	sink.OnSpan = func(sp otlpsink.Span) {
		mu.Lock()
		spans++
		byName[sp.Name]++
		mu.Unlock()
	}
	traced := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": sink.URL()}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	var offs, ons []run
	requests := 0
	for range rounds {
		for _, on := range []bool{false, true} {
			extra := map[string]string(nil)
			if on {
				extra = traced
			}
			if err := s.startFunctions(extra); err != nil {
				return err
			}
			_, op := creates(s, client, profiledClients)
			r := load(profiledClients, d, op)
			if on {
				ons = append(ons, r)
				requests += int(r.Rate * d.Seconds())
			} else {
				offs = append(offs, r)
			}
		}
	}
	if err := s.startFunctions(nil); err != nil { // flushes the last spans, and back to the default
		return err
	}
	off, on := median(offs), median(ons)
	mu.Lock()
	defer mu.Unlock()
	per := func(n int) float64 { return float64(n) / float64(max(1, requests)) }
	rep.Tracing = &tracingResult{Clients: profiledClients, Off: off, On: on, Ratio: on.Rate / off.Rate,
		SpansPerRequest: per(spans), ByName: map[string]float64{}}
	for name, n := range byName {
		rep.Tracing.ByName[name] = per(n)
	}
	log("  off %6.0f/s (p99 %5.1f ms), on %6.0f/s (p99 %5.1f ms): %.2f; %.2f spans per request %v",
		off.Rate, off.P99ms, on.Rate, on.P99ms, rep.Tracing.Ratio, rep.Tracing.SpansPerRequest, rep.Tracing.ByName)
	return nil
}
