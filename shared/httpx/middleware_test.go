package httpx_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/metrics"
)

// Thousands of requests with invented methods and paths, with no token,
// leave the request metrics with the series a handful of real requests
// make: labels come from closed sets (known methods or "other", route
// patterns, status classes), never from the request.
func TestRequestMetricsStayFlatUnderInventedMethodsAndPaths(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	ok := func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusNoContent); return nil }
	h := httpx.Serve(httpx.Middleware{Log: zerolog.Nop(), Requests: m.RequestDuration},
		httpx.Route{Method: http.MethodGet, Pattern: "/api/{user_id}/tasks", Handler: ok},
		httpx.Route{Method: http.MethodPost, Pattern: "/api/{user_id}/tasks", Handler: ok})
	send := func(method, path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code
	}
	for _, r := range [][2]string{{"GET", "/api/a/tasks"}, {"POST", "/api/b/tasks"}, {"DELETE", "/api/c/tasks"},
		{"GET", "/nope"}, {"Q000000Z", "/nope"}, {"Q000000Z", "/api/a/tasks"}} {
		send(r[0], r[1])
	}
	before := testutil.CollectAndCount(m.RequestDuration)
	if before > 6 {
		t.Fatalf("%d series from 6 requests", before)
	}
	for i := range 3000 {
		method := fmt.Sprintf("Q%06dZ", i+1)
		if code := send(method, fmt.Sprintf("/nope/%d", i)); code != http.StatusNotFound {
			t.Fatalf("%s /nope/%d: %d", method, i, code)
		}
		send(method, fmt.Sprintf("/api/user-%d/tasks", i))
		send(http.MethodGet, fmt.Sprintf("/api/user-%d/tasks?x=%d", i, i))
	}
	if after := testutil.CollectAndCount(m.RequestDuration); after != before {
		t.Fatalf("%d request series after 9000 requests, %d before: labels follow client input", after, before)
	}
}
