package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	r.Counter("todo_events_total", "Events handled.", "outcome", "created").Inc()
	r.Counter("todo_events_total", "Events handled.", "outcome", "created").Inc()
	r.Counter("todo_events_total", "Events handled.", "outcome", "duplicate").Inc()
	r.Counter("todo_published_total", "Published.", "", "").Inc()
	r.Gauge("todo_pending", "Pending rows.", func(context.Context) (float64, error) { return 7, nil })
	r.Gauge("todo_broken", "Unreadable.", func(context.Context) (float64, error) { return 0, errors.New("db down") })
	reads := 0
	r.Gauges(func(context.Context) ([]float64, error) { reads++; return []float64{3, 1.5}, nil },
		GaugeSpec{"todo_pair_a", "First of a pair."}, GaugeSpec{"todo_pair_b", "Second of a pair."})
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE todo_events_total counter\n",
		`todo_events_total{outcome="created"} 2`,
		`todo_events_total{outcome="duplicate"} 1`,
		"todo_published_total 1\n",
		"# TYPE todo_pending gauge\ntodo_pending 7\n",
		"todo_pair_a 3\n", "todo_pair_b 1.5\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if reads != 1 {
		t.Errorf("a gauge group was read %d times in one scrape, want 1", reads)
	}
	if strings.Contains(body, "todo_broken 0") {
		t.Errorf("unreadable gauge reported a value:\n%s", body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("content type %q", rec.Header().Get("Content-Type"))
	}
}
