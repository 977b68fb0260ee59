package function

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/ratelimit"
	"github.com/todoevents/todo/shared/store/storetest"
	"github.com/todoevents/todo/shared/testkit"
)

// fake is the handler on an in-memory store with a fixed clock.
func fake(writesPerSecond float64) (http.Handler, *storetest.Store, *int) {
	st, committed := storetest.New(), 0
	st.Budget = ratelimit.New(writesPerSecond)
	h := Handler{Tasks: st, WriteKit: app.WriteKit{Now: func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) },
		Guard:     testkit.Guard(),
		Committed: func() { committed++ }}}
	return testkit.Serve(h.Routes()...), st, &committed
}

func TestHandlerStoresTheTaskWithItsEvent(t *testing.T) {
	t.Parallel()
	h, st, committed := fake(0)
	user := testkit.User()
	rec := testkit.Do(t, h, "POST", "/api/"+user+"/tasks", testkit.Token(t, user),
		[]byte(`{"title":"Stretch","recurring_type":"daily","tags":["health"]}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var got struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	testkit.Decode(t, rec, &got)
	evts := st.Events()
	if len(evts) != 1 || evts[0].Type() != events.TypeTaskCreated || evts[0].Subject() != got.ID || *committed != 1 {
		t.Fatalf("events %v, committed %d", evts, *committed)
	}
	if !got.CreatedAt.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("created at %v, not the handler's clock", got.CreatedAt)
	}
}

func TestHandlerRefusesBeforeWriting(t *testing.T) {
	t.Parallel()
	h, st, _ := fake(0)
	user := testkit.User()
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
	}{
		{"no token", "/api/" + user + "/tasks", "", `{"title":"a"}`, 401},
		{"another user's path", "/api/someone/tasks", testkit.Token(t, user), `{"title":"a"}`, 403},
		{"invalid draft", "/api/" + user + "/tasks", testkit.Token(t, user), `{"title":""}`, 400},
	} {
		testkit.ErrorCode(t, testkit.Do(t, h, "POST", tc.path, tc.token, []byte(tc.body)), tc.status)
	}
	if n := len(st.Events()); n != 0 {
		t.Fatalf("refused requests queued %d events", n)
	}
}

func TestHandlerRateLimitsWritesPerUser(t *testing.T) {
	t.Parallel()
	h, st, _ := fake(1) // bursts of 5
	busy, calm := testkit.User(), testkit.User()
	post := func(user, token string) (int, string) {
		rec := testkit.Do(t, h, "POST", "/api/"+user+"/tasks", token, []byte(`{"title":"a"}`))
		return rec.Code, rec.Header().Get("Retry-After")
	}
	for i := range 5 {
		if code, _ := post(busy, testkit.Token(t, busy)); code != http.StatusCreated {
			t.Fatalf("write %d: %d", i+1, code)
		}
	}
	if code, retry := post(busy, testkit.Token(t, busy)); code != http.StatusTooManyRequests || retry != "1" {
		t.Fatalf("sixth write: %d, Retry-After %q", code, retry)
	}
	if n := len(st.Events()); n != 5 {
		t.Fatalf("%d tasks stored, want 5", n)
	}
	if code, _ := post(calm, testkit.Token(t, calm)); code != http.StatusCreated {
		t.Fatalf("another user was limited: %d", code)
	}
	// Authentication comes first: a stranger cannot use up a user's budget.
	if code, _ := post(busy, ""); code != http.StatusUnauthorized {
		t.Fatalf("an unauthenticated write: %d", code)
	}
}

func TestHandlerTurnsFailuresIntoJSONErrors(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	h, st, _ := fake(0)
	st.Err = apperr.New(apperr.Unavailable, "database unavailable, try again")
	rec := testkit.Do(t, h, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte(`{"title":"a"}`))
	if code, _ := testkit.ErrorCode(t, rec, http.StatusServiceUnavailable); code != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("database down: %s", rec.Body)
	}
	panicking := Handler{Tasks: storetest.New(), WriteKit: app.WriteKit{Guard: testkit.Guard(),
		Now: func() time.Time { panic("clock exploded") }}}
	rec = testkit.Do(t, testkit.Serve(panicking.Routes()...), "POST",
		"/api/"+user+"/tasks", testkit.Token(t, user), []byte(`{"title":"a"}`))
	testkit.ErrorCode(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "exploded") {
		t.Fatalf("panic detail leaked: %s", rec.Body)
	}
}

// Reminders come back with their time and state; a bad one is a 400 that
// names it, and nothing is stored.
func TestHandlerReminders(t *testing.T) {
	t.Parallel()
	h, st, _ := fake(0)
	user := testkit.User()
	rec := testkit.Do(t, h, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte(`{"title":"Dentist",
		"due_date":"2026-03-10T15:00:00","timezone":"America/New_York",
		"reminders":[{"before":"P1D"},{"before":"pt15m"},{"at":"2026-03-09T08:00:00Z"}]}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var got struct {
		Reminders []struct {
			ID, State string
			Before    *string
			RemindAt  time.Time `json:"remind_at"`
		}
	}
	testkit.Decode(t, rec, &got)
	// 15:00 in New York on 10 March 2026 (EDT, from 8 March) is 19:00 UTC.
	want := []time.Time{time.Date(2026, 3, 9, 19, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 18, 45, 0, 0, time.UTC),
		time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)}
	if len(got.Reminders) != 3 || *got.Reminders[1].Before != "PT15M" {
		t.Fatalf("%s", rec.Body)
	}
	for i, r := range got.Reminders {
		if !r.RemindAt.Equal(want[i]) || r.State != "scheduled" || r.ID == "" {
			t.Errorf("reminder %d: %+v, want at %v", i, r, want[i])
		}
	}
	for body, field := range map[string]string{
		`{"title":"a","reminders":[{"before":"PT1H"}]}`:                                           "reminders[0].before",
		`{"title":"a","due_date":"2026-04-01","reminders":[{"before":"-PT1H"}]}`:                  "reminders[0].before",
		`{"title":"a","due_date":"2026-04-01","reminders":[{"before":"P1M"}]}`:                    "reminders[0].before",
		`{"title":"a","reminders":[{"at":"soon"}]}`:                                               "reminders[0].at",
		`{"title":"a","due_date":"2026-04-01","reminders":[{"before":"PT1H","at":"2026-04-01"}]}`: "reminders[0]",
		`{"title":"a","reminders":[{},{},{},{},{},{}]}`:                                           "reminders",
		`{"title":"a","reminders":[{"colour":"red"}]}`:                                            "",
	} {
		rec := testkit.Do(t, h, "POST", "/api/"+user+"/tasks", testkit.Token(t, user), []byte(body))
		code, gotField := testkit.ErrorCode(t, rec, http.StatusBadRequest)
		if code == "" || (field != "" && gotField != field) {
			t.Errorf("%s: %d %s, want a 400 on %s", body, rec.Code, rec.Body, field)
		}
	}
	if n := len(st.Events()); n != 1 {
		t.Fatalf("%d events, want only the valid task's", n)
	}
}
