package main

import (
	"fmt"
	"math"
	"net/http"
	"sort"

	"github.com/prometheus/common/expfmt"

	"github.com/todoevents/todo/dev/harness"
)

// passes are the relay's passes that moved rows (all processes together,
// whichever holds the relay's lock), read from their /metrics.
type passes struct {
	count, sum, published float64
	buckets               map[float64]float64 // upper bound → cumulative count
}

// relayPasses is how the relay's passes went during a scenario.
type relayPasses struct {
	Passes      int     `json:"passes"`
	MeanMs      float64 `json:"mean_ms"`
	P50Ms       float64 `json:"p50_at_most_ms"`
	P99Ms       float64 `json:"p99_at_most_ms"`
	RowsPerPass float64 `json:"rows_per_pass"`
}

// scrapePasses reads the relay pass histogram and published counter of procs.
func scrapePasses(procs ...*harness.Proc) (passes, error) {
	p := passes{buckets: map[float64]float64{}}
	for _, proc := range procs {
		resp, err := http.Get(proc.MetricsURL())
		if err != nil {
			return p, err
		}
		families, err := new(expfmt.TextParser).TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			return p, err
		}
		if f, ok := families["todo_outbox_pass_duration_seconds"]; ok {
			for _, m := range f.GetMetric() {
				h := m.GetHistogram()
				p.count += float64(h.GetSampleCount())
				p.sum += h.GetSampleSum()
				for _, b := range h.GetBucket() {
					p.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
				}
			}
		}
		if f, ok := families["todo_outbox_published_total"]; ok {
			for _, m := range f.GetMetric() {
				p.published += m.GetCounter().GetValue()
			}
		}
	}
	return p, nil
}

// since is what happened between before and p.
func (p passes) since(before passes) (relayPasses, error) {
	n := p.count - before.count
	if n <= 0 {
		return relayPasses{}, fmt.Errorf("no relay pass was timed")
	}
	r := relayPasses{Passes: int(n), MeanMs: (p.sum - before.sum) / n * 1000, RowsPerPass: (p.published - before.published) / n}
	var bounds []float64
	for b := range p.buckets {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	at := func(q float64) float64 {
		for _, b := range bounds {
			if p.buckets[b]-before.buckets[b] >= q*n {
				return b * 1000
			}
		}
		return math.Inf(1)
	}
	r.P50Ms, r.P99Ms = at(.5), at(.99)
	return r, nil
}
