package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

func (s *localStack) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
}

// call sends one API request as user and returns the status and the id of
// the task in the answer.
func (s *localStack) call(method, user, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, s.base+"/api/"+user+"/tasks"+path, strings.NewReader(body))
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
	var tk struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&tk)
	return resp.StatusCode, tk.ID, err
}

// TestCrashOfTheWholeLocalStackLosesNothing completes a burst of recurring
// tasks on `todo run`, SIGKILLs PostgreSQL, the broker and the functions at
// once, and starts it again on the same .data/: every completion that was
// acknowledged is still done, and each gets exactly one next occurrence.
func TestCrashOfTheWholeLocalStackLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local stack twice")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "todo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &localStack{bin: bin, dir: dir, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
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
	s.kill(t)

	s.start(t)
	db, err := pgxpool.New(context.Background(), s.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
