package allinone_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/todoevents/todo/dev/allinone"
	"github.com/todoevents/todo/dev/daprd"
	"github.com/todoevents/todo/shared/testkit"
)

// TestStackBehindDaprSidecars is what make run-dapr starts: every function
// behind its own real daprd; a completion through the gateway gets its
// next occurrence through the sidecars.
func TestStackBehindDaprSidecars(t *testing.T) {
	t.Parallel()
	url := testkit.Database(t)
	s := startBehindDapr(t, url, nil, "")
	if n := len(s.Sidecars()); n != 7 {
		t.Fatalf("%d sidecars, want 7", n)
	}
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	user := testkit.User()
	do := func(method, path, body string) *http.Response {
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		resp, err := http.DefaultClient.Do(testkit.Request(t, method, srv.URL+path, testkit.Token(t, user), b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do("POST", "/api/"+user+"/tasks", `{"title":"through Dapr","recurring_type":"daily"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	db := testkit.Store(t, url)
	var id string
	if err := db.Pool.QueryRow(context.Background(), `SELECT id FROM tasks WHERE user_id = $1`, user).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if resp := do("PATCH", "/api/"+user+"/tasks/"+id+"/complete", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	took := testkit.Eventually(t, "the next occurrence through the sidecars", time.Minute, func() bool {
		return testkit.Count(t, db.Pool, `SELECT count(*) FROM tasks WHERE parent_task_id = $1`, id) == 1
	})
	t.Logf("occurrence %v after the completion, through daprd", took)
}

// startBehindDapr starts the whole stack on database url behind real
// daprd sidecars (their Jobs API on the Dapr scheduler at scheduler, when
// set), with env on top of the test environment; it stops when the test
// ends.
func startBehindDapr(t *testing.T, url string, env map[string]string, scheduler string) *allinone.Stack {
	t.Helper()
	bin, err := daprd.Binary()
	if err != nil {
		t.Fatal(err)
	}
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["LOG_LEVEL"] = "warn"
	s, err := allinone.Start(context.Background(), allinone.Options{Env: testkit.Env(url, env), Partitions: 3,
		Dapr: &allinone.DaprOptions{Bin: bin, Config: filepath.Join("..", "..", daprd.Tree), WorkDir: t.TempDir(),
			Log: io.Discard, Scheduler: scheduler}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
