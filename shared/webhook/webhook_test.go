package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

func TestParseDraft(t *testing.T) {
	t.Parallel()
	good := []struct{ url, want string }{
		{"https://hooks.example.com/todo?x=1", "https://hooks.example.com/todo?x=1"},
		{"http://example.com:8080", "http://example.com:8080"},
		{"https://93.184.216.34/in", "https://93.184.216.34/in"},
		{"https://[2606:2800:220:1::248]/in", "https://[2606:2800:220:1::248]/in"},
		{"https://1password.example/in", "https://1password.example/in"},
	}
	for _, c := range good {
		d, err := ParseDraft(c.url, []string{TaskReminder, TaskCreated, TaskReminder})
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if d.URL.String() != c.want || strings.Join(d.Events, ",") != "task.created,task.reminder" {
			t.Errorf("%s: %s %v", c.url, d.URL, d.Events)
		}
	}
	bad := []struct{ url, field, says string }{
		{"", "url", "required"},
		{"ftp://example.com/", "url", "http or https"},
		{"file:///etc/passwd", "url", "http or https"},
		{"gopher://example.com:70/", "url", "http or https"},
		{"https:example.com", "url", "host"},
		{"https:///path", "url", "host"},
		{"https://user:pw@example.com/", "url", "user name"},
		{"https://example.com/#frag", "url", "fragment"},
		{"https://example.com:99999/", "url", "port"},
		{"https://example.com:0/", "url", "port"},
		{"http://2130706433/", "url", "dotted decimal"},
		{"http://0x7f.1/", "url", "dotted decimal"},
		{"http://0177.0.0.1/", "url", "dotted decimal"},
		{"http://127.1/", "url", "dotted decimal"},
		{"http://%zz/", "url", "not a URL"},
		{"https://example.com/" + strings.Repeat("a", MaxURLLen), "url", "longer"},
	}
	for _, c := range bad {
		_, err := ParseDraft(c.url, []string{TaskCreated})
		checkField(t, c.url, err, c.field, c.says)
	}
	_, err := ParseDraft("https://example.com/", nil)
	checkField(t, "no events", err, "events", "at least one")
	_, err = ParseDraft("https://example.com/", []string{TaskCreated, "com.todo.task.created"})
	checkField(t, "a CloudEvent type", err, "events", "events[1]")
}

func checkField(t *testing.T, what string, err error, field, says string) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != field || !strings.Contains(err.Error(), says) {
		t.Errorf("%s: %v, want a %s error saying %q", what, err, field, says)
	}
}

func TestEventName(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]string{"com.todo.task.reminder": TaskReminder, "com.todo.task.completed": TaskCompleted} {
		if got, ok := EventName(typ); !ok || got != want {
			t.Errorf("%s: %q %v", typ, got, ok)
		}
	}
	for _, typ := range []string{"com.todo.event.dead-lettered", "task.created", "com.other.task.created", ""} {
		if _, ok := EventName(typ); ok {
			t.Errorf("%s is deliverable", typ)
		}
	}
}

func TestPayload(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.FixedZone("", 14*3600))
	b, err := Payload(TaskReminder, at, json.RawMessage(`{"task_id":"t"}`))
	if err != nil || string(b) != `{"type":"task.reminder","timestamp":"2026-12-02T20:00:00Z","data":{"task_id":"t"}}` {
		t.Fatalf("%s %v", b, err)
	}
}

// The default schedule: about 1 s, 5 s, 30 s, 2 min, 10 min, 1 h, then
// hourly, within its jitter, until a day after the delivery was created.
func TestScheduleNext(t *testing.T) {
	t.Parallel()
	s := DefaultSchedule
	created := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	want := []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, time.Hour}
	now := created
	for i, d := range want {
		for _, r := range []float64{0, 0.5, 0.999} {
			next, ok := s.Next(i+1, created, now, r)
			got := next.Sub(now)
			lo, hi := time.Duration(float64(d)*(1-s.Jitter)), time.Duration(float64(d)*(1+s.Jitter))
			if !ok || got < lo || got > hi {
				t.Fatalf("after attempt %d (r=%v): in %s (%v), want %s±20%%", i+1, r, got, ok, d)
			}
			if r == 0.5 && got != d {
				t.Fatalf("after attempt %d: the middle of the jitter is %s, want %s", i+1, got, d)
			}
		}
		now = now.Add(d)
	}
	attempts := len(want)
	for {
		next, ok := s.Next(attempts+1, created, now, 0.5)
		if !ok {
			break
		}
		attempts, now = attempts+1, next
	}
	if end := now.Sub(created); end > s.Period || end < s.Period-time.Hour {
		t.Fatalf("the last attempt came %s after creation, want within the last hour of %s", end, s.Period)
	}
	if attempts < 28 || attempts > 31 {
		t.Fatalf("%d attempts in a day", attempts)
	}
	if _, ok := (Schedule{}).Next(1, created, now, 0.5); ok {
		t.Fatal("a schedule without delays tries again")
	}
}
