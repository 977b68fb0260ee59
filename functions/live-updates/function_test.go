package function

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// sse is one event read from a stream.
type sse struct {
	id, event string
	entry     Entry
}

// stream opens user's event stream with a token (and the resume headers
// resume) and returns its events as they come; cancel closes it.
func stream(t *testing.T, base, user, token string, resume http.Header) (<-chan sse, *http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/"+user+"/events", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range resume {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	out := make(chan sse, 100)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					out <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, "id: "):
				cur.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				cur.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.entry)
			}
		}
	}()
	return out, resp, cancel
}

func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return sse{}
}

// publish sends a task.created event of user titled title to the broker,
// as a relay would.
func publish(t *testing.T, pub *kafka.Publisher, user, title string) {
	t.Helper()
	now := time.Now().UTC()
	tk := task.Task{ID: uuid.NewString(), UserID: user, Title: title, Status: task.StatusPending, Priority: task.PriorityMedium,
		Timezone: "UTC", RecurringType: task.RecurNone, RecurrenceBasis: task.BasisCompletion, Tags: []string{},
		CreatedAt: now, UpdatedAt: now}
	e, err := events.ForTask(events.TypeTaskCreated, "test", tk, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), events.TopicTaskEvents, e); err != nil {
		t.Fatal(err)
	}
}

// running starts the function on a real broker of 3 partitions, once
// both its feeds read every partition, and a publisher to that broker.
func running(t *testing.T) (*httptest.Server, *kafka.Publisher) {
	t.Helper()
	brokers := testkit.Broker(t, 3)
	f := testkit.Start(t, New(), map[string]string{"KAFKA_BROKERS": brokers})
	testkit.Eventually(t, "the feeds read every partition", 20*time.Second, func() bool {
		ok, _ := f.Ready(context.Background())
		return ok
	})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	pub, err := kafka.NewPublisher(strings.Split(brokers, ","), "live-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return srv, pub
}

// TestEachUserGetsTheirOwnEventsInOrder: two users' pages each receive
// exactly their own events, in order; a page that reconnects with the
// last id it saw gets what happened meanwhile, and nothing twice; an id
// older than what the feed keeps says "reset"; a stream needs the user's
// token.
func TestEachUserGetsTheirOwnEventsInOrder(t *testing.T) {
	t.Parallel()
	srv, pub := running(t)
	alice, bob := testkit.User(), testkit.User()
	aliceCh, _, closeAlice := stream(t, srv.URL, alice, testkit.Token(t, alice), nil)
	bobCh, _, closeBob := stream(t, srv.URL, bob, testkit.Token(t, bob), nil)
	defer closeBob()
	for i := range 3 {
		publish(t, pub, alice, "alice "+string(rune('a'+i)))
		publish(t, pub, bob, "bob "+string(rune('a'+i)))
	}
	var last string
	for i := range 3 {
		a, b := next(t, aliceCh), next(t, bobCh)
		if a.event != "task" || a.entry.Title != "alice "+string(rune('a'+i)) || a.entry.Type != events.TypeTaskCreated ||
			b.entry.Title != "bob "+string(rune('a'+i)) || a.id == "" || a.id != a.entry.ID {
			t.Fatalf("event %d: alice got %+v, bob got %+v", i, a, b)
		}
		last = a.id
	}
	closeAlice()
	publish(t, pub, alice, "while away 1")
	publish(t, pub, alice, "while away 2")
	publish(t, pub, bob, "not alice's")
	time.Sleep(300 * time.Millisecond) // the feed has read them
	back, _, closeBack := stream(t, srv.URL, alice, testkit.Token(t, alice), http.Header{"Last-Event-Id": {last}})
	defer closeBack()
	for _, want := range []string{"while away 1", "while away 2"} {
		if e := next(t, back); e.entry.Title != want {
			t.Fatalf("after reconnecting: %q, want %q", e.entry.Title, want)
		}
	}
	publish(t, pub, alice, "live again")
	if e := next(t, back); e.entry.Title != "live again" {
		t.Fatalf("after the replay: %q", e.entry.Title)
	}
	old, _, closeOld := stream(t, srv.URL, alice, testkit.Token(t, alice), http.Header{"Last-Event-Id": {"not-an-id"}})
	defer closeOld()
	if e := next(t, old); e.event != "reset" {
		t.Fatalf("an id the feed cannot place: %+v, want reset", e)
	}
	for name, tc := range map[string]struct{ user, token string }{
		"no token":             {alice, ""},
		"another user's token": {alice, testkit.Token(t, bob)},
	} {
		_, resp, cancel := stream(t, srv.URL, tc.user, tc.token, nil)
		cancel()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
}

// remind publishes a reminder of user's task titled title to the broker,
// as the scheduler's relay would.
func remind(t *testing.T, pub *kafka.Publisher, user, title string) {
	t.Helper()
	now := time.Now().UTC()
	tk := task.Task{ID: uuid.NewString(), UserID: user, Title: title, DueDate: &now}
	e, err := events.ForReminder("test", tk, task.Fired{Reminder: task.Reminder{ID: uuid.NewString(), RemindAt: now}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), events.TopicReminders, e); err != nil {
		t.Fatal(err)
	}
}

// TestRemindersComeOnTheSameStream: a user's reminders reach their own
// page as "reminder" events without an SSE id (the task events' position
// stays theirs), each with its id in its data; another user's page gets
// none; a page back with the Last-Reminder-ID it saw gets the reminders
// that came meanwhile, and the task events' resume is untouched.
func TestRemindersComeOnTheSameStream(t *testing.T) {
	t.Parallel()
	srv, pub := running(t)
	alice, bob := testkit.User(), testkit.User()
	aliceCh, _, closeAlice := stream(t, srv.URL, alice, testkit.Token(t, alice), nil)
	bobCh, _, closeBob := stream(t, srv.URL, bob, testkit.Token(t, bob), nil)
	defer closeBob()
	remind(t, pub, alice, "call the plumber")
	publish(t, pub, bob, "bob's task")
	r := next(t, aliceCh)
	var data events.ReminderData
	if r.event != "reminder" || r.id != "" || r.entry.ID == "" || r.entry.Type != events.TypeTaskReminder ||
		r.entry.Title != "call the plumber" || json.Unmarshal(r.entry.Data, &data) != nil || data.ReminderID == "" {
		t.Fatalf("alice's reminder: %+v", r)
	}
	if b := next(t, bobCh); b.event != "task" || b.entry.Title != "bob's task" {
		t.Fatalf("bob's page got %+v before his own task event", b)
	}
	closeAlice()
	remind(t, pub, alice, "while away")
	remind(t, pub, bob, "not alice's")
	time.Sleep(300 * time.Millisecond) // the feed has read them
	back, _, closeBack := stream(t, srv.URL, alice, testkit.Token(t, alice), http.Header{"Last-Reminder-Id": {r.entry.ID}})
	defer closeBack()
	if e := next(t, back); e.event != "reminder" || e.entry.Title != "while away" {
		t.Fatalf("after reconnecting: %+v", e)
	}
	publish(t, pub, alice, "live again")
	if e := next(t, back); e.event != "task" || e.entry.Title != "live again" {
		t.Fatalf("then: %+v", e)
	}
}

// TestFeedKnowsWhatItNoLongerKeeps: an id from before the events the feed
// holds asks for a reset; one within them replays only the user's events.
func TestFeedKnowsWhatItNoLongerKeeps(t *testing.T) {
	t.Parallel()
	f := NewFeed(nil, events.TopicTaskEvents, 1, zerolog.Nop())
	f.first[0] = 10
	for off := int64(10); off < 10+BufferPerPartition+5; off++ {
		f.recent[0] = append(f.recent[0], Entry{ID: fmt.Sprint("0-", off), user: []string{"a", "b"}[off%2], offset: off})
	}
	f.recent[0] = f.recent[0][5:] // what the feed trimmed
	if _, _, cancel, err := f.Subscribe("a", "0-12"); err != errTooOld {
		t.Fatalf("an id before the kept events: %v", err)
	} else {
		cancel()
	}
	missed, _, cancel, err := f.Subscribe("a", fmt.Sprint("0-", 10+BufferPerPartition))
	defer cancel()
	if err != nil || len(missed) != 2 || missed[0].user != "a" {
		t.Fatalf("replay: %v, %d events", err, len(missed))
	}
}

// TestWebAppIsServedWithAStrictPolicy: the page, its script and styles,
// each with a Content-Security-Policy that allows no inline script and no
// other origin.
func TestWebAppIsServedWithAStrictPolicy(t *testing.T) {
	t.Parallel()
	h := testkit.Serve(WebRoutes()...)
	for path, kind := range map[string]string{"/": "text/html", "/app.js": "text/javascript", "/app.css": "text/css"} {
		rec := testkit.Do(t, h, "GET", path, "", nil)
		csp := rec.Header().Get("Content-Security-Policy")
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), kind) ||
			!strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || rec.Body.Len() == 0 {
			t.Errorf("%s: %d %v", path, rec.Code, rec.Header())
		}
	}
	page := testkit.Do(t, h, "GET", "/", "", nil).Body.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("the page has inline script or loads from another origin")
	}
}

// One user cannot hold more than LIVE_STREAMS_PER_USER streams (the next
// gets 429 with Retry-After), nor all users more than LIVE_STREAMS_MAX
// (503 with Retry-After), while the rest of the function keeps serving;
// a closed stream gives its place back.
func TestStreamsAreBoundedPerUserAndInAll(t *testing.T) {
	t.Parallel()
	f := testkit.Start(t, New(), map[string]string{"LIVE_STREAMS_PER_USER": "3", "LIVE_STREAMS_MAX": "5"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	attacker, other, late := testkit.User(), testkit.User(), testkit.User()
	var closers []context.CancelFunc
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	open := func(user string, want int) {
		t.Helper()
		_, resp, cancel := stream(t, srv.URL, user, testkit.Token(t, user), nil)
		if resp.StatusCode != want {
			cancel()
			t.Fatalf("stream of %s: %d, want %d", user, resp.StatusCode, want)
		}
		if want != http.StatusOK {
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("refused stream: %v", resp.Header)
			}
			cancel()
			return
		}
		closers = append(closers, cancel)
	}
	for range 3 {
		open(attacker, http.StatusOK)
	}
	open(attacker, http.StatusTooManyRequests)
	open(other, http.StatusOK)
	open(other, http.StatusOK)
	open(late, http.StatusServiceUnavailable)
	if rec := testkit.Do(t, f, "GET", "/", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("the web app while the streams are full: %d", rec.Code)
	}
	closers[0]() // one of the attacker's
	testkit.Eventually(t, "the closed stream's place given back", 5*time.Second, func() bool {
		all, _ := f.feed.Open(attacker)
		return all == 4
	})
	open(late, http.StatusOK)
	for _, c := range closers {
		c()
	}
	testkit.Eventually(t, "every stream's place given back", 5*time.Second, func() bool {
		all, mine := f.feed.Open(attacker)
		return all == 0 && mine == 0
	})
}
