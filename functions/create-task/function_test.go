package function

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func rowCount(tb testing.TB, f *CreateTask, sql string, args ...any) int {
	tb.Helper()
	return testkit.Count(tb, f.Runtime().Store.Pool, sql, args...)
}

func TestCreateValidTask(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	rec := testkit.Do(t, f, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte(`{
		"title":"  Renew passport ","description":"photos","priority":"low","tags":["admin","admin","travel"],
		"due_date":"2027-01-31","timezone":"Europe/Paris","recurring_type":"monthly",
		"recurring_end_date":"2027-12-31"}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got map[string]any
	testkit.Decode(t, rec, &got)
	want := map[string]any{"title": "Renew passport", "status": "pending", "priority": "low", "timezone": "Europe/Paris",
		"recurring_type": "monthly", "recurrence_basis": "completion", "completed": false, "user_id": user,
		"due_date": "2027-01-30T23:00:00Z", "recurring_end_date": "2027-12-31T22:59:59Z", "parent_task_id": nil}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if tags := got["tags"].([]any); len(tags) != 2 {
		t.Errorf("tags %v, want duplicates removed", tags)
	}
	if n := rowCount(t, f, `SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = 'com.todo.task.created'
		AND partition_key = $2`, got["id"], user); n != 1 {
		t.Fatalf("%d task.created outbox rows, want 1", n)
	}
}

func TestCreateWithParent(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	alice, bob := testkit.User(), testkit.User()
	post := func(user, body string) (int, map[string]any) {
		rec := testkit.Do(t, f, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte(body))
		var m map[string]any
		testkit.Decode(t, rec, &m)
		return rec.Code, m
	}
	code, parent := post(alice, `{"title":"parent"}`)
	if code != http.StatusCreated {
		t.Fatal(code, parent)
	}
	pid := parent["id"].(string)
	if code, child := post(alice, `{"title":"child","parent_task_id":"`+pid+`"}`); code != http.StatusCreated || child["parent_task_id"] != pid {
		t.Fatalf("child: %d %v", code, child)
	}
	if code, body := post(alice, `{"title":"second child","parent_task_id":"`+pid+`"}`); code != http.StatusConflict {
		t.Fatalf("second child of one parent: %d %v, want 409", code, body)
	}
	if code, body := post(bob, `{"title":"bob's child","parent_task_id":"`+pid+`"}`); code != http.StatusBadRequest {
		t.Fatalf("parent of another user: %d %v, want 400", code, body)
	}
	if n := rowCount(t, f, `SELECT count(*) FROM tasks WHERE user_id = $1`, bob); n != 0 {
		t.Fatalf("rejected request wrote %d tasks", n)
	}
}

// TestCreateRejectsBadInput sends a catalogue of bad requests; each must get
// a 4xx JSON error naming the problem, and nothing may be written.
func TestCreateRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	tok := testkit.Token(t, user)
	expired, _ := testkit.SignToken([]byte(testkit.Secret), user, time.Now().Add(-2*time.Hour), time.Hour)
	foreign, _ := testkit.SignToken([]byte("some-other-secret-0123456789abcd"), user, time.Now(), time.Hour)
	path := "/api/" + user + "/tasks"
	long := strings.Repeat("x", 201)
	cases := []struct {
		name, method, path, token, body string
		status                          int
		field                           string
	}{
		{"no token", "POST", path, "", `{"title":"a"}`, 401, ""},
		{"expired token", "POST", path, expired, `{"title":"a"}`, 401, ""},
		{"token signed with another secret", "POST", path, foreign, `{"title":"a"}`, 401, ""},
		{"token of another user", "POST", "/api/someone-else/tasks", tok, `{"title":"a"}`, 403, ""},
		{"malformed JSON", "POST", path, tok, `{"title":`, 400, ""},
		{"not an object", "POST", path, tok, `["title"]`, 400, ""},
		{"two objects", "POST", path, tok, `{"title":"a"}{"title":"b"}`, 400, ""},
		{"unknown field", "POST", path, tok, `{"title":"a","owner":"x"}`, 400, "owner"},
		{"empty body", "POST", path, tok, ``, 400, ""},
		{"missing title", "POST", path, tok, `{"description":"d"}`, 400, "title"},
		{"blank title", "POST", path, tok, `{"title":"   "}`, 400, "title"},
		{"title too long", "POST", path, tok, `{"title":"` + long + `"}`, 400, "title"},
		{"title wrong type", "POST", path, tok, `{"title":42}`, 400, "title"},
		{"title with NUL", "POST", path, tok, `{"title":"a\u0000b"}`, 400, "title"},
		{"description too long", "POST", path, tok, `{"title":"a","description":"` + strings.Repeat("d", 4001) + `"}`, 400, "description"},
		{"bad priority", "POST", path, tok, `{"title":"a","priority":"urgent"}`, 400, "priority"},
		{"bad status", "POST", path, tok, `{"title":"a","status":"archived"}`, 400, "status"},
		{"bad recurring type", "POST", path, tok, `{"title":"a","recurring_type":"hourly"}`, 400, "recurring_type"},
		{"bad basis", "POST", path, tok, `{"title":"a","recurring_type":"daily","recurrence_basis":"whenever"}`, 400, "recurrence_basis"},
		{"bad time zone", "POST", path, tok, `{"title":"a","timezone":"Mars/Olympus"}`, 400, "timezone"},
		{"Local is not a zone", "POST", path, tok, `{"title":"a","timezone":"Local"}`, 400, "timezone"},
		{"bad due date", "POST", path, tok, `{"title":"a","due_date":"next tuesday"}`, 400, "due_date"},
		{"impossible due date", "POST", path, tok, `{"title":"a","due_date":"2026-02-30"}`, 400, "due_date"},
		{"bad end date", "POST", path, tok, `{"title":"a","recurring_type":"daily","recurring_end_date":"soon"}`, 400, "recurring_end_date"},
		{"end before due", "POST", path, tok, `{"title":"a","recurring_type":"daily","due_date":"2026-05-02","recurring_end_date":"2026-05-01"}`, 400, "recurring_end_date"},
		{"end date without recurrence", "POST", path, tok, `{"title":"a","recurring_end_date":"2026-05-01"}`, 400, "recurring_end_date"},
		{"schedule without due date", "POST", path, tok, `{"title":"a","recurring_type":"weekly","recurrence_basis":"schedule"}`, 400, "due_date"},
		{"bad parent id", "POST", path, tok, `{"title":"a","parent_task_id":"1; DROP TABLE tasks"}`, 400, "parent_task_id"},
		{"unknown parent", "POST", path, tok, `{"title":"a","parent_task_id":"00000000-0000-0000-0000-000000000000"}`, 400, "parent_task_id"},
		{"too many tags", "POST", path, tok, `{"title":"a","tags":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}`, 400, "tags"},
		{"empty tag", "POST", path, tok, `{"title":"a","tags":[""]}`, 400, "tags"},
		{"contradicting completed", "POST", path, tok, `{"title":"a","status":"pending","completed":true}`, 400, "completed"},
		{"huge body", "POST", path, tok, `{"title":"a","description":"` + strings.Repeat("x", 70000) + `"}`, 413, ""},
		{"wrong method", "PUT", path, tok, `{"title":"a"}`, 405, ""},
		{"unknown route", "POST", "/api/" + user + "/projects", tok, `{"title":"a"}`, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := testkit.Do(t, f, tc.method, tc.path, tc.token, []byte(tc.body))
			_, field := testkit.ErrorCode(t, rec, tc.status)
			if tc.field != "" && field != tc.field {
				t.Fatalf("error names field %q, want %q: %s", field, tc.field, rec.Body)
			}
		})
	}
	if n := rowCount(t, f, `SELECT count(*) FROM tasks`); n != 0 {
		t.Fatalf("rejected requests wrote %d tasks", n)
	}
	if n := rowCount(t, f, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("rejected requests wrote %d events", n)
	}
}

func TestInvalidUTF8IsRejected(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	rec := testkit.Do(t, f, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte("{\"title\":\"\xff\xfe\"}"))
	testkit.ErrorCode(t, rec, http.StatusBadRequest)
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	rec := testkit.Do(t, f, "OPTIONS", "/api/u/tasks", "", nil,
		"Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight: %d %v", rec.Code, rec.Header())
	}
	rec = testkit.Do(t, f, "OPTIONS", "/api/u/tasks", "", nil,
		"Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("unknown origin was granted: %v", rec.Header())
	}
}

// The rollback switch: with EVENTS_PUBLISH=false tasks are still created
// and their events wait in the outbox; a process with publishing on sends
// the backlog.
func TestEventsWaitInTheOutboxWhilePublishingIsOff(t *testing.T) {
	t.Parallel()
	url, brokers := testkit.Database(t), testkit.Broker(t, 1)
	off := New()
	if err := off.Start(context.Background(), testkit.Env(url, map[string]string{"KAFKA_BROKERS": brokers, "EVENTS_PUBLISH": "false"})); err != nil {
		t.Fatal(err)
	}
	defer off.Stop(context.Background())
	user := testkit.User()
	if rec := testkit.Do(t, off, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte(`{"title":"a"}`)); rec.Code != http.StatusCreated {
		t.Fatalf("create with publishing off: %d %s", rec.Code, rec.Body)
	}
	time.Sleep(300 * time.Millisecond)
	pending := func() int { return rowCount(t, off, `SELECT count(*) FROM outbox_waiting`) }
	if n := pending(); n != 1 || len(testkit.ReadTopic(t, brokers, events.TopicTaskEvents)) != 0 {
		t.Fatalf("%d pending rows with publishing off, want 1 and nothing on the topic", n)
	}
	on := New()
	if err := on.Start(context.Background(), testkit.Env(url, map[string]string{"KAFKA_BROKERS": brokers})); err != nil {
		t.Fatal(err)
	}
	defer on.Stop(context.Background())
	testkit.Eventually(t, "the backlog published once publishing is on", 10*time.Second, func() bool { return pending() == 0 })
	if n := len(testkit.ReadTopic(t, brokers, events.TopicTaskEvents)); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}

// TestIdempotencyKey: concurrent retries with one key and body create one
// task and one event and all answer with it; the same key with another
// body is 422 and writes nothing; a malformed key is 400.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), nil)
	user := testkit.User()
	tok := testkit.Token(t, user)
	post := func(body string, key ...string) *httptest.ResponseRecorder {
		var headers []string
		for _, k := range key {
			headers = append(headers, "Idempotency-Key", k)
		}
		return testkit.Do(t, f, "POST", "/api/"+user+"/tasks", tok, []byte(body), headers...)
	}
	ids := make([]string, 6)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			// The same task, spelled differently each time.
			body := []string{`{"title":"Pay rent","priority":"high"}`, `{ "priority": "high", "title": "Pay rent" }`}[i%2]
			rec := post(body, "rent-2026-12")
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusCreated {
				t.Errorf("attempt %d: %d %s", i, rec.Code, rec.Body)
				return
			}
			ids[i], _ = got["id"].(string)
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("retries answered different tasks: %v", ids)
		}
	}
	if n := rowCount(t, f, `SELECT count(*) FROM tasks WHERE user_id = $1`, user); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
	if n := rowCount(t, f, `SELECT count(*) FROM outbox WHERE partition_key = $1`, user); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if rec := post(`{"title":"Pay rent","priority":"high"}`, "rent-2026-12"); rec.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a replay is not marked: %v", rec.Header())
	}
	code, _ := testkit.ErrorCode(t, post(`{"title":"Pay rent twice"}`, "rent-2026-12"), http.StatusUnprocessableEntity)
	if code != "idempotency_key_reused" {
		t.Fatalf("code %q", code)
	}
	for _, key := range [][]string{{""}, {"a key"}, {strings.Repeat("k", 256)}, {"a", "b"}} {
		if _, field := testkit.ErrorCode(t, post(`{"title":"x"}`, key...), http.StatusBadRequest); field != "Idempotency-Key" {
			t.Fatalf("key %q: field %q", key, field)
		}
	}
	if n := rowCount(t, f, `SELECT count(*) FROM tasks WHERE user_id = $1`, user); n != 1 {
		t.Fatalf("%d tasks after refusals, want 1", n)
	}
}

// The function starts and serves while no broker answers: a create is
// answered and its event waits in the outbox.
func TestServesWhileKafkaIsDown(t *testing.T) {
	t.Parallel()
	metrics := testkit.FreeAddr(t)
	base := testkit.Run(t, New(), testkit.Env(testkit.Database(t), map[string]string{"KAFKA_BROKERS": "127.0.0.1:1",
		"METRICS_ADDR": metrics}))
	user := testkit.User()
	req, _ := http.NewRequest("POST", base+"/api/"+user+"/tasks", strings.NewReader(`{"title":"queued"}`))
	req.Header.Set("Authorization", "Bearer "+testkit.Token(t, user))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create with Kafka down: %v %v", resp, err)
	}
	resp.Body.Close()
	if body := testkit.ScrapeAt(t, metrics); !strings.Contains(body, "todo_outbox_pending 1") {
		t.Fatalf("the event is not waiting in the outbox:\n%s", body)
	}
}
