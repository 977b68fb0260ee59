package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/todoevents/todo/dev/otlpsink"
)

// traces receives spans by OTLP/HTTP on addr and writes each trace to out
// as a tree once no span of it has come for quiet, until ctx ends: a
// trace viewer for `make run` with OTEL_EXPORTER_OTLP_ENDPOINT pointing
// here, on a machine without a collector.
func traces(ctx context.Context, out io.Writer, addr string, quiet time.Duration) error {
	sink, err := otlpsink.Listen(addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer sink.Close()
	var (
		mu   sync.Mutex
		last = map[string]time.Time{} // trace id: when its last span came
	)
	sink.OnSpan = func(s otlpsink.Span) {
		mu.Lock()
		last[s.TraceID] = time.Now()
		mu.Unlock()
	}
	fmt.Fprintf(out, "receiving spans on %s; run the system with OTEL_EXPORTER_OTLP_ENDPOINT=%s\n", addr, sink.URL())
	tick := time.NewTicker(quiet / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			mu.Lock()
			var done []string
			for id, at := range last {
				if now.Sub(at) >= quiet {
					done = append(done, id)
					delete(last, id)
				}
			}
			mu.Unlock()
			for _, id := range done {
				spans := sink.Trace(id)
				fmt.Fprintf(out, "\ntrace %s (%d spans)\n", id, len(spans))
				otlpsink.Tree(out, spans)
				sink.Forget(id)
			}
		}
	}
}
