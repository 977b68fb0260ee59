package e2e_test

import (
	"bufio"
	"maps"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/shared/testkit"
)

// Every function, on SIGTERM (what Kubernetes and Knative send before
// SIGKILL): says it is not ready at once while it still serves for
// SHUTDOWN_DELAY, ends its event streams, leaves its consumer group, and
// exits by itself with status 0 well inside a 30 s grace period.
func TestEveryFunctionStopsGracefullyOnSIGTERM(t *testing.T) {
	for _, fn := range harness.Functions {
		t.Run(fn, func(t *testing.T) {
			env := maps.Clone(sys.env)
			env["SHUTDOWN_DELAY"] = "1s"
			env["KAFKA_CONSUMER_GROUP"] = "shutdown-test" // not the system's recur-task group
			p, err := harness.StartProc(filepath.Join(sys.bins, fn), "shutdown-"+fn, env, sys.dir)
			if err != nil {
				t.Fatal(err)
			}
			var stream *http.Response
			if fn == "live-updates" {
				user := testkit.User()
				tok, _ := testenvToken(user)
				req, _ := http.NewRequest("GET", p.URL()+"/api/"+user+"/events", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				if stream, err = (&http.Client{}).Do(req); err != nil || stream.StatusCode != http.StatusOK {
					t.Fatalf("open a stream: %v %v", stream, err)
				}
				defer stream.Body.Close()
			}
			type exit struct {
				inTime bool
				code   int
			}
			done := make(chan exit, 1)
			signalled := time.Now()
			go func() { in, code := p.Terminate(25 * time.Second); done <- exit{in, code} }()
			time.Sleep(300 * time.Millisecond)
			if resp, err := http.Get(p.URL() + "/health/readiness"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("readiness during the delay: %v %v, want 503", resp, err)
			} else {
				resp.Body.Close()
			}
			if resp, err := http.Get(p.URL() + "/health/liveness"); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("still serving during the delay: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			if stream != nil {
				// The stream ends by itself (EOF), before the process exits.
				sc := bufio.NewScanner(stream.Body)
				for sc.Scan() {
				}
			}
			e := <-done
			took := time.Since(signalled)
			if !e.inTime || e.code != 0 || took < time.Second || took > 15*time.Second {
				t.Fatalf("exited in time %v with status %d after %v; want status 0 after the 1s delay and within 15s", e.inTime, e.code, took)
			}
			report(t, "%s stopped on SIGTERM in %v with status 0", fn, took.Round(10*time.Millisecond))
		})
	}
}
