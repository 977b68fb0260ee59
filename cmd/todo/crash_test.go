package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// localStack is `todo run` as a user starts it, in its own directory.
type localStack struct {
	bin, dir, base string
	cmd            *exec.Cmd
	databaseURL    string
}

var databaseLine = regexp.MustCompile(`database: (postgres://\S+)`)

// start runs `todo run` in s.dir and waits until it serves and has printed
// its database URL.
func (s *localStack) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "run")
	s.cmd.Dir = s.dir
	port := strings.TrimPrefix(s.base, "http://127.0.0.1:")
	s.cmd.Env = append(os.Environ(), "PORT="+port, "AUTH_JWT_SECRET="+testkit.Secret, "LOG_LEVEL=warn",
		"RECONCILE_EVERY=300ms", "RECONCILE_GRACE=1s", "RATE_LIMIT_PER_USER=0")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := databaseLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case s.databaseURL = <-urls:
	case <-time.After(2 * time.Minute):
		t.Fatal("todo run printed no database URL")
	}
	testkit.Eventually(t, "todo run ready", time.Minute, func() bool {
		resp, err := http.Get(s.base + "/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill SIGKILLs PostgreSQL (its whole process group) and then todo itself:
// nothing gets to shut down cleanly.
func (s *localStack) kill(t *testing.T) {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(s.dir, ".data", "pg", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	testkit.Eventually(t, "PostgreSQL gone", 10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
}

// crashAndRestart kills the stack, leaves it down until downUntil, starts
// it again on the same .data/ and returns a pool on its database, closed
// when the test ends.
func (s *localStack) crashAndRestart(t *testing.T, downUntil time.Time) *pgxpool.Pool {
	t.Helper()
	s.kill(t)
	time.Sleep(time.Until(downUntil))
	s.start(t)
	db, err := pgxpool.New(context.Background(), s.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func (s *localStack) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// call sends one request to user's tasks (path after /tasks) and returns
// the status and the id of the task in the answer.
func (s *localStack) call(method, user, path, body string) (int, string, error) {
	return s.request(method, user, "/tasks"+path, body)
}

// request sends one API request as user (path after /api/{user}) and
// returns the status and the id in the answer.
func (s *localStack) request(method, user, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, s.base+"/api/"+user+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	tok, err := testkit.SignToken([]byte(testkit.Secret), user, time.Now(), time.Hour)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var answer struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer.ID, err
}

// newLocalStack builds todo into a directory of its own, where it will
// run, on a free port.
func newLocalStack(t *testing.T) *localStack {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "todo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return &localStack{bin: bin, dir: dir, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// TestCrashOfTheWholeLocalStackLosesNothing completes a burst of recurring
// tasks on `todo run`, SIGKILLs PostgreSQL, the broker and the functions at
// once, and starts it again on the same .data/: every completion that was
// acknowledged is still done, and each gets exactly one next occurrence.
func TestCrashOfTheWholeLocalStackLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack twice")
	}
	s := newLocalStack(t)
	s.start(t)
	defer s.stop()
	if strings.Contains(s.databaseURL, "postgres@") {
		t.Fatalf("the local cluster takes connections without a password: %s", s.databaseURL)
	}

	const n, users = 150, 10
	ids := make([]string, n)
	owner := make([]string, n)
	names := make([]string, users)
	for i := range names {
		names[i] = testkit.User()
	}
	parallel(t, n, func(i int) error {
		owner[i] = names[i%users]
		code, id, err := s.call("POST", owner[i], "", `{"title":"crash","recurring_type":"daily"}`)
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("create: %d %v", code, err)
		}
		ids[i] = id
		return nil
	})
	var mu sync.Mutex
	var acked []string
	parallel(t, n, func(i int) error {
		code, _, err := s.call("PATCH", owner[i], "/"+ids[i]+"/complete", "")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("complete: %d %v", code, err)
		}
		mu.Lock()
		acked = append(acked, ids[i])
		mu.Unlock()
		return nil
	})
	db := s.crashAndRestart(t, time.Time{})
	if done := testkit.Count(t, db, `SELECT count(*) FROM tasks WHERE id = ANY($1) AND status = 'done'`, acked); done != len(acked) {
		t.Fatalf("%d of %d acknowledged completions survived the crash", done, len(acked))
	}
	took := testkit.Eventually(t, "one next occurrence per completion", time.Minute, func() bool {
		return testkit.Count(t, db, `SELECT count(DISTINCT parent_task_id) FROM tasks WHERE parent_task_id = ANY($1)`, acked) == len(acked)
	})
	if total := testkit.Count(t, db, `SELECT count(*) FROM tasks WHERE parent_task_id = ANY($1)`, acked); total != len(acked) {
		t.Fatalf("%d occurrences for %d completions", total, len(acked))
	}
	reconciled := testkit.Count(t, db, `SELECT count(*) FROM processed_events WHERE event_id LIKE 'reconcile/%'`)
	t.Logf("%d completions acknowledged, all kept; every one has one occurrence %v after the restart (%d by the reconciler)",
		len(acked), took.Round(time.Millisecond), reconciled)
}

// parallel runs fn(0..n-1) on 8 workers and fails the test on any error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestCrashWhileRemindersFire: 60 reminders of 3 users come due at the
// same moment, each user's webhook receiving them, and 15 more 10 s
// later; the whole local stack (PostgreSQL, the broker, every function) is
// SIGKILLed as the first deliveries arrive, stays down for over a minute
// and is started again on the same .data/: every reminder was fired once
// (one event each) and reaches its webhook, under one webhook-id however
// often it is sent; the 15 due while everything was down say late.
func TestCrashWhileRemindersFire(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack twice")
	}
	var mu sync.Mutex
	got := map[string]map[string]int{} // task id → webhook-id → times
	late := map[string]bool{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data struct {
				TaskID string `json:"task_id"`
				Late   bool   `json:"late"`
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("a delivery that is not JSON: %v", err)
		}
		mu.Lock()
		late[body.Data.TaskID] = body.Data.Late
		if got[body.Data.TaskID] == nil {
			got[body.Data.TaskID] = map[string]int{}
		}
		got[body.Data.TaskID][r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer rcv.Close()
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	s := newLocalStack(t)
	s.start(t)
	defer s.stop()
	const n, down, users = 60, 15, 3 // due at once; due while everything is down
	names := make([]string, users)
	for i := range names {
		names[i] = testkit.User()
		if code, _, err := s.request("POST", names[i], "/webhooks", `{"url":"`+rcv.URL+`","events":["task.reminder"]}`); err != nil || code != http.StatusCreated {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}
	at := time.Now().Add(3 * time.Second).UTC()
	later := at.Add(10 * time.Second) // after the SIGKILL
	due := at.Add(time.Hour).Format(time.RFC3339)
	ids := make([]string, n+down)
	parallel(t, n+down, func(i int) error {
		when := at
		if i >= n {
			when = later
		}
		code, id, err := s.call("POST", names[i%users], "", `{"title":"crash reminder","due_date":"`+due+`",
			"reminders":[{"at":"`+when.Format(time.RFC3339Nano)+`"}]}`)
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("create: %d %v", code, err)
		}
		ids[i] = id
		return nil
	})
	if time.Now().After(at) {
		t.Fatal("creating the tasks outlasted their reminders' time")
	}
	testkit.Eventually(t, "the first delivery", 30*time.Second, func() bool { return received() > 0 })
	before := received()
	if time.Now().After(later) {
		t.Fatal("the first delivery came after the later reminders were due")
	}
	// Down for longer than a reminder may be late and still be on time.
	db := s.crashAndRestart(t, later.Add(task.LateAfter+2*time.Second))
	took := testkit.Eventually(t, "every reminder at its webhook", time.Minute, func() bool { return received() == n+down })
	time.Sleep(time.Second) // room for a duplicate to arrive
	mu.Lock()
	defer mu.Unlock()
	sends := 0
	for i, id := range ids {
		if len(got[id]) != 1 {
			t.Errorf("task %s: reminder delivered under %d webhook-ids, want 1", id, len(got[id]))
		}
		if i >= n && !late[id] {
			t.Errorf("task %s: its reminder came due while everything was down, and does not say late", id)
		}
		for _, times := range got[id] {
			sends += times
		}
	}
	if sent := testkit.Count(t, db, `SELECT count(*) FROM tasks, jsonb_array_elements(reminders) r
		WHERE id = ANY($1) AND r->>'state' = 'sent'`, ids); sent != n+down {
		t.Fatalf("%d of %d reminders marked sent", sent, n+down)
	}
	if evts := testkit.Count(t, db, `SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'reminders' AND partition_key = ANY($1)`, names); evts != n+down {
		t.Fatalf("%d reminder events for %d reminders", evts, n+down)
	}
	if rows := testkit.Count(t, db, `SELECT count(*) FROM webhook_deliveries WHERE user_id = ANY($1)`, names); rows != n+down {
		t.Fatalf("%d deliveries queued for %d reminders", rows, n+down)
	}
	t.Logf("%d reminders, %d delivered before the SIGKILL; all %d at their webhook %v after the restart, one webhook-id each, %d POSTs in all; the %d due while down said late",
		n+down, before, n+down, took.Round(time.Millisecond), sends, down)
}
