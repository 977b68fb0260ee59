package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// ping is a function with one route.
func ping() *app.Lifecycle {
	f := app.NewLifecycle("ping", config.Requirements{}, func(*app.Runtime) []httpx.Route {
		return []httpx.Route{{Method: http.MethodGet, Pattern: "/ping", Handler: func(w http.ResponseWriter, _ *http.Request) error {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"pong": "yes"})
			return nil
		}}}
	})
	return &f
}

func get(f *app.Lifecycle) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.Handle(rec, httptest.NewRequest(http.MethodGet, "/ping", nil))
	return rec
}

// TestFunctionServesWhileStarting runs Start the way Knative's Go
// middleware does, in the background while requests and readiness checks
// already arrive: until it has finished they get 503 JSON and "not ready",
// never a panic (and, under the race detector, no data race); then the
// routes answer; after Stop they get 503 again and Start is refused.
func TestFunctionServesWhileStarting(t *testing.T) {
	t.Parallel()
	f := ping()
	rec := get(f)
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable ||
		body.Error.Code != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("before Start: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	if ok, err := f.Ready(context.Background()); ok || err != nil {
		t.Fatalf("ready before Start: %v %v", ok, err)
	}
	env := testkit.Env(testkit.Database(t), nil)
	// Requests and readiness checks run until Start has returned, here in
	// the test's goroutine as in the middleware's own.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ok, _ := f.Ready(context.Background())
				rec := get(f)
				switch {
				case rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable:
					t.Errorf("while starting: %d %s", rec.Code, rec.Body)
					return
				case ok && rec.Code != http.StatusOK:
					t.Errorf("ready, yet a request got %d", rec.Code)
					return
				}
			}
		})
	}
	err := f.Start(context.Background(), env)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(f); rec.Code != http.StatusOK {
		t.Fatalf("after Start: %d %s", rec.Code, rec.Body)
	}
	if ok, err := f.Ready(context.Background()); !ok || err != nil {
		t.Fatalf("not ready after Start: %v %v", ok, err)
	}
	if err := f.Start(context.Background(), env); err == nil {
		t.Fatal("a second Start succeeded")
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec := get(f); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("after Stop: %d", rec.Code)
	}
	if err := f.Start(context.Background(), env); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}
