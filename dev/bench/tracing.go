package main

import (
	"context"
	"net/http"
	"sync/atomic"
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
	// Spans is how many spans the receiver got per request traced.
	SpansPerRequest float64 `json:"spans_per_request"`
}

// tracingCost is scenario 7.
func tracingCost(ctx context.Context, s *system, rep *report, d time.Duration, rounds int) error {
	sink, err := otlpsink.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sink.Close()
	sink.Max = 1 // counted, not kept
	var spans atomic.Int64
	sink.OnSpan = func(otlpsink.Span) { spans.Add(1) }
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
	rep.Tracing = &tracingResult{Clients: profiledClients, Off: off, On: on, Ratio: on.Rate / off.Rate,
		SpansPerRequest: float64(spans.Load()) / float64(max(1, requests))}
	log("  off %6.0f/s (p99 %5.1f ms), on %6.0f/s (p99 %5.1f ms): %.2f; %.1f spans per request",
		off.Rate, off.P99ms, on.Rate, on.P99ms, rep.Tracing.Ratio, rep.Tracing.SpansPerRequest)
	return nil
}
