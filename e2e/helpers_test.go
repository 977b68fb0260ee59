package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoevents/todo/migrations"
	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

func runMigrations(ctx context.Context, url string) error { return migrations.Up(ctx, url) }

var client = &http.Client{Timeout: 30 * time.Second}

// call sends a JSON request to a function process of the shared system.
func call(fn, method, path, user, body string) (int, []byte, error) {
	return callURL(sys.api[fn].URL(), method, path, user, body)
}

// callURL sends a JSON request as user (no token when empty) to base+path.
func callURL(base, method, path, user, body string) (int, []byte, error) {
	return callWith(base, method, path, user, body, nil)
}

// callWith is callURL with more request headers.
func callWith(base, method, path, user, body string, header http.Header) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if user != "" {
		tok, err := testenvToken(user)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func testenvToken(user string) (string, error) {
	return testkit.SignToken([]byte(testkit.Secret), user, time.Now(), time.Hour)
}

// item is one recurring task under test.
type item struct{ user, id string }

// seedRecurring creates n daily tasks spread over users users.
func seedRecurring(t *testing.T, n, users int) []item {
	t.Helper()
	names := make([]string, users)
	for i := range names {
		names[i] = testkit.User()
	}
	out := make([]item, n)
	for i := range out {
		user := names[i%users]
		code, body, err := call("create-task", "POST", "/api/"+user+"/tasks", user,
			fmt.Sprintf(`{"title":"task %d","recurring_type":"daily"}`, i))
		if err != nil || code != http.StatusCreated {
			t.Fatalf("create: %d %s %v", code, body, err)
		}
		var tk struct{ ID string }
		_ = json.Unmarshal(body, &tk)
		out[i] = item{user, tk.ID}
	}
	return out
}

// completeAll completes every item, in parallel, and requires 200 for each.
func completeAll(t *testing.T, items []item) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(items))
	sem := make(chan struct{}, 8)
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, body, err := call("complete-task", "PATCH", "/api/"+it.user+"/tasks/"+it.id+"/complete", it.user, "")
			if err != nil || code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"done"`)) {
				errs <- fmt.Sprintf("complete %s: %d %s %v", it.id, code, body, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func ids(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.id
	}
	return out
}

// counts returns how many of parents have a next occurrence, and how many
// have more than one.
func counts(t *testing.T, parents []string) (withChild, doubled int) {
	t.Helper()
	err := sys.db.QueryRow(context.Background(), `SELECT count(DISTINCT parent_task_id),
		count(*) - count(DISTINCT parent_task_id) FROM tasks WHERE parent_task_id = ANY($1)`, parents).Scan(&withChild, &doubled)
	if err != nil {
		t.Fatal(err)
	}
	return withChild, doubled
}

// waitChildren waits until every parent has a next occurrence and checks
// none has two. It returns how long that took.
func waitChildren(t *testing.T, parents []string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		have, doubled := counts(t, parents)
		if doubled != 0 {
			t.Fatalf("%d duplicate next occurrences", doubled)
		}
		if have == len(parents) {
			break
		}
		if time.Since(start) > timeout {
			t.Fatalf("after %v: %d of %d next occurrences", timeout, have, len(parents))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let stragglers (redeliveries) land, then check again.
	time.Sleep(time.Second)
	if _, doubled := counts(t, parents); doubled != 0 {
		t.Fatalf("%d duplicate next occurrences", doubled)
	}
	return time.Since(start)
}

// stopDatabase stops the system's PostgreSQL and returns the function that
// starts it again on the same data and port (run at the end of the test if
// the test did not).
func stopDatabase(t *testing.T) (start func()) {
	t.Helper()
	dir, port := sys.pg.Dir, sys.pg.Port
	sys.pg.Stop()
	started := false
	start = func() {
		if started {
			return
		}
		started = true
		var err error
		if sys.pg, err = pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir, Port: port}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(start)
	return start
}
