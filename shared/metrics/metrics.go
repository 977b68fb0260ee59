// Package metrics exposes counters and gauges in the Prometheus text format
// (version 0.0.4), with no dependency beyond the standard library.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Counter is a monotonically increasing count.
type Counter struct{ v atomic.Int64 }

// Inc adds one; on a nil counter (an optional one left unset) it does nothing.
func (c *Counter) Inc() {
	if c != nil {
		c.v.Add(1)
	}
}

// Value returns the count (0 for a nil counter).
func (c *Counter) Value() int64 {
	if c == nil {
		return 0
	}
	return c.v.Load()
}

// GaugeFunc reads a gauge's current value when scraped.
type GaugeFunc func(ctx context.Context) (float64, error)

// GaugeSpec names one gauge of a group read together.
type GaugeSpec struct{ Name, Help string }

// gaugeGroup is gauges whose values come from one read per scrape.
type gaugeGroup struct {
	read func(ctx context.Context) ([]float64, error)
}

type family struct {
	help, kind string
	counters   map[string]*Counter // label set ("" or `k="v"`) → counter
	group      *gaugeGroup         // for gauges
	index      int                 // this gauge's value in its group's read
}

// Registry holds named metric families.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{families: map[string]*family{}} }

// Counter returns the counter name{labelKey="labelValue"} (no label when
// labelKey is empty), creating it on first use.
func (r *Registry) Counter(name, help, labelKey, labelValue string) *Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.families[name]
	if !ok {
		f = &family{help: help, kind: "counter", counters: map[string]*Counter{}}
		r.families[name] = f
	}
	labels := ""
	if labelKey != "" {
		labels = fmt.Sprintf("%s=%q", labelKey, labelValue)
	}
	c, ok := f.counters[labels]
	if !ok {
		c = &Counter{}
		f.counters[labels] = c
	}
	return c
}

// Gauge registers a gauge read by fn at scrape time.
func (r *Registry) Gauge(name, help string, fn GaugeFunc) {
	r.Gauges(func(ctx context.Context) ([]float64, error) {
		v, err := fn(ctx)
		return []float64{v}, err
	}, GaugeSpec{name, help})
}

// Gauges registers gauges whose values read returns together, in the order
// of specs, once per scrape.
func (r *Registry) Gauges(read func(ctx context.Context) ([]float64, error), specs ...GaugeSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := &gaugeGroup{read: read}
	for i, spec := range specs {
		r.families[spec.Name] = &family{help: spec.Help, kind: "gauge", group: g, index: i}
	}
}

type groupRead struct {
	values []float64
	err    error
}

// Write renders every family in the text exposition format.
func (r *Registry) Write(ctx context.Context) string {
	r.mu.Lock()
	names := make([]string, 0, len(r.families))
	for n := range r.families {
		names = append(names, n)
	}
	sort.Strings(names)
	r.mu.Unlock()
	var b strings.Builder
	reads := map[*gaugeGroup]groupRead{}
	for _, name := range names {
		r.mu.Lock()
		f := r.families[name]
		lines := make([]string, 0, len(f.counters))
		for labels, c := range f.counters {
			lines = append(lines, fmt.Sprintf("%s%s %d", name, braces(labels), c.Value()))
		}
		r.mu.Unlock()
		if f.group != nil {
			rd, ok := reads[f.group]
			if !ok {
				rd.values, rd.err = f.group.read(ctx)
				reads[f.group] = rd
			}
			if rd.err != nil || f.index >= len(rd.values) {
				continue // a gauge that cannot be read now is left out
			}
			lines = append(lines, fmt.Sprintf("%s %g", name, rd.values[f.index]))
		}
		sort.Strings(lines)
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s\n", name, f.help, name, f.kind, strings.Join(lines, "\n"))
	}
	return b.String()
}

func braces(labels string) string {
	if labels == "" {
		return ""
	}
	return "{" + labels + "}"
}

// Handler serves the registry.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(r.Write(ctx)))
	})
}
