package allinone_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoevents/todo/shared/testkit"
)

// errorField reads the field an error response names.
func errorField(tb testing.TB, r reply) string {
	tb.Helper()
	var body struct{ Error struct{ Code, Field string } }
	r.json(tb, &body)
	return body.Error.Field
}

// Dates past what every encoder can write, and zones a browser cannot
// use, are a 400 naming the field, on create, PATCH and PUT alike (never a
// 500, or a 503 a client would retry forever); nothing is written.
func TestHostileTimesAndZonesAre400s(t *testing.T) {
	user := testkit.User()
	tok := testkit.Token(t, user)
	id := createTask(t, user, `{"title":"target","recurring_type":"daily","due_date":"2026-05-01T09:00:00Z"}`)["id"].(string)
	settle(t, user)
	list, one := "/api/"+user+"/tasks", "/api/"+user+"/tasks/"+id
	cases := []struct{ name, body, field string }{
		{"the year-9999 wedge (year 10000 in UTC)", `{"title":"wedge","recurring_type":"daily","recurrence_basis":"schedule","timezone":"Etc/GMT+12","due_date":"9999-12-30T23:30"}`, "due_date"},
		{"year 10000 by its offset", `{"title":"a","due_date":"9999-12-31T23:59:59-01:00"}`, "due_date"},
		{"1969 by its offset", `{"title":"a","due_date":"1970-01-01T00:00:00+01:00"}`, "due_date"},
		{"year 1 far west", `{"title":"a","timezone":"Etc/GMT+12","due_date":"0001-01-01T00:00"}`, "due_date"},
		{"an end date in 10000", `{"title":"a","recurring_type":"weekly","recurring_end_date":"9999-12-31T23:00:00-05:00"}`, "recurring_end_date"},
		{"right/UTC", `{"title":"a","timezone":"right/UTC"}`, "timezone"},
		{"posixrules", `{"title":"a","timezone":"posixrules"}`, "timezone"},
		{"localtime", `{"title":"a","timezone":"localtime"}`, "timezone"},
		{"posix/Asia/Tokyo", `{"title":"a","timezone":"posix/Asia/Tokyo"}`, "timezone"},
		{"Factory", `{"title":"a","timezone":"Factory"}`, "timezone"},
		{"a field given twice", `{"title":"a","title":"b"}`, "title"},
		{"a field in capitals", `{"TITLE":"a"}`, "TITLE"},
	}
	before := snapshot(t)
	for _, c := range cases {
		for _, m := range []struct{ method, path string }{{"POST", list}, {"PATCH", one}, {"PUT", one}} {
			r := call(t, m.method, m.path, tok, []byte(c.body))
			if r.status != http.StatusBadRequest || errorField(t, r) != c.field {
				t.Errorf("%s by %s: %d %s, want 400 naming %s", c.name, m.method, r.status, r.body, c.field)
			}
		}
	}
	if after := snapshot(t); after != before {
		t.Fatalf("refused requests changed the database: %s -> %s", before, after)
	}
}

// A stale If-Match is refused on completion as on every other change.
func TestCompletionHonoursIfMatch(t *testing.T) {
	user := testkit.User()
	tok := testkit.Token(t, user)
	created := call(t, "POST", "/api/"+user+"/tasks", tok, []byte(`{"title":"versioned","recurring_type":"daily"}`))
	mustStatus(t, created, http.StatusCreated)
	id := created.task(t)["id"].(string)
	done := "/api/" + user + "/tasks/" + id + "/complete"
	mustStatus(t, call(t, "PATCH", done, tok, nil, "If-Match", `"not-the-version"`), http.StatusPreconditionFailed)
	mustStatus(t, call(t, "PATCH", done, tok, nil, "If-Match", created.header.Get("ETag")), http.StatusOK)
	settle(t, user)
	if children(t, id) != 1 {
		t.Fatal("the completion with the current version made no next occurrence")
	}
}

// One write budget per user across every route: after a burst of creates,
// completions, edits and deletes are refused too (429 with Retry-After),
// and what is accepted in all never exceeds the burst plus what refilled.
// Another user is not affected.
func TestOneWriteBudgetPerUserAcrossRoutes(t *testing.T) {
	user, calm := testkit.User(), testkit.User()
	tok := testkit.Token(t, user)
	const rate, burst = 20, 100 // RATE_LIMIT_PER_USER's default, and five seconds' worth
	start := time.Now()
	accepted, refusedBy := 0, map[string]int{}
	var ids []string
	for range 130 {
		r := call(t, "POST", "/api/"+user+"/tasks", tok, []byte(`{"title":"spam","recurring_type":"daily"}`))
		switch r.status {
		case http.StatusCreated:
			accepted++
			ids = append(ids, r.task(t)["id"].(string))
		case http.StatusTooManyRequests:
			refusedBy["create"]++
			if r.header.Get("Retry-After") == "" {
				t.Fatal("a 429 without Retry-After")
			}
		default:
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	for i := range 60 {
		id := ids[i%len(ids)]
		for route, req := range map[string][2]string{
			"complete": {"PATCH", "/api/" + user + "/tasks/" + id + "/complete"},
			"edit":     {"PATCH", "/api/" + user + "/tasks/" + id},
			"delete":   {"DELETE", "/api/" + user + "/tasks/" + id},
		} {
			var body []byte
			if route == "edit" {
				body = []byte(fmt.Sprintf(`{"title":"edit %d"}`, i))
			}
			switch r := call(t, req[0], req[1], tok, body); r.status {
			case http.StatusOK, http.StatusNoContent, http.StatusNotFound: // a task deleted earlier in the loop
				if r.status != http.StatusNotFound {
					accepted++
				}
			case http.StatusTooManyRequests:
				refusedBy[route]++
			default:
				t.Fatalf("%s: %d %s", route, r.status, r.body)
			}
		}
	}
	allowed := burst + int(rate*time.Since(start).Seconds()) + 1
	if accepted > allowed || refusedBy["complete"] == 0 || refusedBy["edit"] == 0 || refusedBy["delete"] == 0 {
		t.Fatalf("%d writes accepted (at most %d allowed), refused by route %v", accepted, allowed, refusedBy)
	}
	mustStatus(t, call(t, "POST", "/api/"+calm+"/tasks", testkit.Token(t, calm), []byte(`{"title":"calm"}`)), http.StatusCreated)
	t.Logf("%d writes accepted of 310 in %.1fs; refused: %v", accepted, time.Since(start).Seconds(), refusedBy)
}

// The development sign-in answers only clients on this machine, whatever
// address the server listens on.
func TestDevSignInAnswersOnlyLoopback(t *testing.T) {
	mustStatus(t, call(t, "POST", "/dev/sign-in", "", []byte(`{"user":"someone"}`)), http.StatusOK)
	req := httptest.NewRequest("POST", "/dev/sign-in", strings.NewReader(`{"user":"someone"}`))
	req.RemoteAddr = "203.0.113.7:40000" // from the network
	rec := httptest.NewRecorder()
	env.stack.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "token") {
		t.Fatalf("sign-in from the network: %d %s", rec.Code, rec.Body)
	}
}

// A token with a critical header the server does not understand is
// refused (RFC 7515), and /metrics is not on the API's port.
func TestCritTokensAndMetricsAreRefused(t *testing.T) {
	user := testkit.User()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["crit"] = []string{"zzz"}
	signed, err := tok.SignedString([]byte(testkit.Secret))
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, call(t, "GET", "/api/"+user+"/tasks", signed, nil), http.StatusUnauthorized)
	mustStatus(t, call(t, "GET", "/metrics", "", nil), http.StatusNotFound)
}

// One user's event streams are capped (the one past the cap gets 429 with
// Retry-After), and another user's stream and requests are served
// meanwhile.
func TestEventStreamsArePerUserBounded(t *testing.T) {
	user, other := testkit.User(), testkit.User()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(who string) *http.Response {
		req := testkit.Request(t, "GET", env.srv.URL+"/api/"+who+"/events", testkit.Token(t, who), nil)
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			// The stream has started once its first line arrives.
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		return resp
	}
	for i := range 20 { // LIVE_STREAMS_PER_USER's default
		if resp := open(user); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i+1, resp.StatusCode)
		}
	}
	over := open(user)
	if over.StatusCode != http.StatusTooManyRequests || over.Header.Get("Retry-After") == "" {
		t.Fatalf("stream 21: %d %v", over.StatusCode, over.Header)
	}
	over.Body.Close()
	if resp := open(other); resp.StatusCode != http.StatusOK {
		t.Fatalf("another user's stream: %d", resp.StatusCode)
	}
	mustStatus(t, call(t, "GET", "/api/"+other+"/tasks", testkit.Token(t, other), nil), http.StatusOK)
}
