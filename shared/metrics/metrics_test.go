package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/todoevents/todo/shared/outbox"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec.Body.String()
}

func TestExposition(t *testing.T) {
	t.Parallel()
	m := New()
	m.EventsProcessed.WithLabelValues("created").Inc()
	m.EventsProcessed.WithLabelValues("created").Inc()
	m.EventsProcessed.WithLabelValues("duplicate").Inc()
	m.OutboxPublished.Inc()
	m.OutboxPass.Observe(0.02)
	m.RequestDuration.WithLabelValues("POST", "POST /api/{user_id}/tasks", "2xx").Observe(0.003)
	reads := 0
	m.WatchOutbox(func(context.Context) (outbox.Backlog, error) {
		reads++
		return outbox.Backlog{Pending: 3, OldestAge: 1.5, Failed: 1}, nil
	})
	body := scrape(t, m)
	for _, want := range []string{
		"# TYPE todo_events_processed_total counter\n",
		`todo_events_processed_total{outcome="created"} 2`,
		`todo_events_processed_total{outcome="duplicate"} 1`,
		"todo_outbox_published_total 1\n",
		"todo_outbox_pass_duration_seconds_count 1\n",
		"todo_events_dead_lettered_total 0\n",
		"# TYPE todo_outbox_pending gauge\ntodo_outbox_pending 3\n",
		"todo_outbox_oldest_pending_age_seconds 1.5\n", "todo_outbox_failed_rows 1\n",
		`todo_http_request_duration_seconds_count{method="POST",route="POST /api/{user_id}/tasks",status="2xx"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if reads != 1 {
		t.Errorf("the backlog was read %d times in one scrape, want 1", reads)
	}
}

func TestUnreadableBacklogIsLeftOutNotZero(t *testing.T) {
	t.Parallel()
	m := New()
	m.WatchOutbox(func(context.Context) (outbox.Backlog, error) { return outbox.Backlog{}, errors.New("db down") })
	m.DeadLettered.Inc()
	body := scrape(t, m)
	if strings.Contains(body, "todo_outbox_pending ") || !strings.Contains(body, "todo_events_dead_lettered_total 1") {
		t.Fatalf("scrape with the database down:\n%s", body)
	}
}
