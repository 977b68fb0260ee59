package allinone_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/openapi"
)

// TestOpenAPIDocumentsEveryRoute: GET /openapi.json serves the document;
// every route the functions serve is in it, and everything it documents
// is served (recur-task's own event endpoints and health checks, which
// the gateway mounts differently, are served by recur-task and every
// function). Each exchange of the package's tests is also validated
// against it (call → testenv.CheckContract).
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	r := call(t, "GET", openapi.Path, "", nil)
	mustStatus(t, r, http.StatusOK)
	if !bytes.Equal(r.body, openapi.Document) {
		t.Fatal("GET /openapi.json is not the embedded document")
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range env.stack.Routes {
		op := rt.Method + " " + strings.TrimSuffix(rt.Pattern, "{$}")
		served[op] = true
		if !documented[op] {
			t.Errorf("%s is served but not documented", op)
		}
		if twin := httpx.Twin(rt.Pattern); twin != "" {
			served[rt.Method+" "+twin] = true
		}
	}
	elsewhere := []string{"POST /", "POST /api/events/task-completed", "GET /dapr/subscribe", "GET /dapr/config", "POST /job/{name}",
		"GET /health/readiness", "GET /health/liveness"}
	for op := range documented {
		if !served[op] && !slices.Contains(elsewhere, op) {
			t.Errorf("%s is documented but not served", op)
		}
	}
}
