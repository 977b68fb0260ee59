package allinone_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoevents/todo/dev/allinone"
	"github.com/todoevents/todo/shared/testkit"
)

// sys is the system under test, shared by the package's tests; each test
// uses its own users.
type sys struct {
	stack *allinone.Stack
	srv   *httptest.Server
	db    *pgxpool.Pool
}

var env *sys

func TestMain(m *testing.M) {
	flag.Parse()
	testkit.Main(&runner{m})
}

// runner starts the shared system around the tests.
type runner struct{ m *testing.M }

func (r *runner) Run() int {
	if testing.Short() {
		_, _ = os.Stdout.WriteString("the whole stack needs PostgreSQL: skipped in -short mode\n")
		return 0
	}
	ctx := context.Background()
	url, err := testkit.NewDatabase()
	if err != nil {
		_, _ = os.Stderr.WriteString("database: " + err.Error() + "\n")
		return 1
	}
	s, err := allinone.Start(ctx, allinone.Options{Env: testkit.Env(url, map[string]string{"WEBHOOK_ALLOW_LOOPBACK": "true"}), Partitions: 3})
	if err != nil {
		_, _ = os.Stderr.WriteString("start stack: " + err.Error() + "\n")
		return 1
	}
	defer s.Close()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		return 1
	}
	defer db.Close()
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	env = &sys{stack: s, srv: srv, db: db}
	return r.m.Run()
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("status %d, body %q is not JSON: %v", r.status, r.body, err)
	}
}

func (r reply) task(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	r.json(tb, &m)
	return m
}

// call sends a request over HTTP to the gateway and checks the exchange
// against the OpenAPI document.
func call(tb testing.TB, method, path, token string, body []byte, headers ...string) reply {
	tb.Helper()
	req := testkit.Request(tb, method, env.srv.URL+path, token, body, headers...)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	testkit.CheckContract(tb, req, body, resp.StatusCode, resp.Header, b)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func mustStatus(tb testing.TB, r reply, want int) {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
}

// createTask posts body for user and returns the created task.
func createTask(tb testing.TB, user, body string) map[string]any {
	tb.Helper()
	r := call(tb, "POST", "/api/"+user+"/tasks", testkit.Token(tb, user), []byte(body))
	mustStatus(tb, r, http.StatusCreated)
	return r.task(tb)
}

func complete(tb testing.TB, user, id, body string) map[string]any {
	tb.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r := call(tb, "PATCH", "/api/"+user+"/tasks/"+id+"/complete", testkit.Token(tb, user), b)
	mustStatus(tb, r, http.StatusOK)
	return r.task(tb)
}

func count(tb testing.TB, sql string, args ...any) int {
	tb.Helper()
	return testkit.Count(tb, env.db, sql, args...)
}

// children counts the next occurrences of task id.
func children(tb testing.TB, id string) int {
	tb.Helper()
	return count(tb, `SELECT count(*) FROM tasks WHERE parent_task_id = $1`, id)
}

// eventually polls cond for up to 10 s.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, what, 10*time.Second, cond)
}

// settle waits until every outbox row is published and recur-task has
// handled every task.completed event of user's tasks.
func settle(tb testing.TB, user string) {
	tb.Helper()
	eventually(tb, "outbox drained and completions handled", func() bool {
		return count(tb, `SELECT count(*) FROM outbox_waiting`) == 0 &&
			count(tb, `SELECT count(*) FROM outbox o WHERE o.partition_key = $1
				AND o.event->>'type' = 'com.todo.task.completed'
				AND NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = o.event_id)`, user) == 0
	})
}

// deadLettersOf counts the dead letters queued for the pushed event id.
func deadLettersOf(tb testing.TB, id string) int {
	tb.Helper()
	return count(tb, `SELECT count(*) FROM outbox WHERE topic = 'task-events-dlq'
		AND event->>'type' = 'com.todo.event.dead-lettered'
		AND convert_from(decode(event->'data'->>'raw', 'base64'), 'UTF8')::jsonb->>'id' = $1`, id)
}
