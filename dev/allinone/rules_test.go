package allinone_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/testkit"
)

// nextOf waits for the next occurrence of task id and returns it as the
// API answers it.
func nextOf(tb testing.TB, user, id string) map[string]any {
	tb.Helper()
	var next map[string]any
	eventually(tb, "the next occurrence of "+id, func() bool {
		list := listTasks(tb, user, "?parent_task_id="+id)
		if len(list) == 1 {
			next = list[0]
		}
		return next != nil
	})
	return next
}

// skipTask skips task id and returns the answer.
func skipTask(tb testing.TB, user, id string) reply {
	tb.Helper()
	return call(tb, "POST", "/api/"+user+"/tasks/"+id+"/skip", testkit.Token(tb, user), nil)
}

func dueIn(tb testing.TB, t map[string]any, zone string) string {
	tb.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		tb.Fatal(err)
	}
	return parseTime(tb, t["due_date"]).In(loc).Format("Mon 2006-01-02 15:04")
}

// A rule's series walked through completions and skips on the event path:
// Mon/Wed/Fri, four times, on the schedule; a skip makes the next
// occurrence as a completion does; the fourth has no next; a closed
// occurrence cannot be skipped again.
func TestRuleSeriesThroughCompletionsAndSkips(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	first := createTask(t, user, `{"title":"Stand-up","recurrence_rule":"rrule:freq=weekly;byday=fr,mo,we;count=4",
		"recurrence_basis":"schedule","due_date":"2030-01-07T09:00","timezone":"Europe/Berlin"}`)
	if first["recurrence_rule"] != "FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE,FR" || first["recurring_type"] != "weekly" || first["occurrence"] != 1.0 {
		t.Fatalf("created: %v", first)
	}
	r := call(t, "GET", "/api/"+user+"/tasks/"+first["id"].(string)+"/occurrences?limit=10", testkit.Token(t, user), nil)
	mustStatus(t, r, http.StatusOK)
	var preview struct {
		DueDates []time.Time `json:"due_dates"`
		Text     string
	}
	r.json(t, &preview)
	if len(preview.DueDates) != 3 || !preview.DueDates[0].Equal(time.Date(2030, 1, 9, 8, 0, 0, 0, time.UTC)) ||
		preview.Text != "every week on Monday, Wednesday and Friday, 4 times" {
		t.Fatalf("what follows the first: %+v", preview)
	}
	complete(t, user, first["id"].(string), "")
	second := nextOf(t, user, first["id"].(string))
	if got := dueIn(t, second, "Europe/Berlin"); got != "Wed 2030-01-09 09:00" || second["occurrence"] != 2.0 ||
		second["recurrence_rule"] != first["recurrence_rule"] {
		t.Fatalf("second: %s, %v", got, second)
	}
	skipped := skipTask(t, user, second["id"].(string))
	mustStatus(t, skipped, http.StatusOK)
	if s := skipped.task(t); s["status"] != "skipped" || s["skipped_at"] == nil || s["completed_at"] != nil || s["completed"] != false {
		t.Fatalf("skipped: %v", s)
	}
	third := nextOf(t, user, second["id"].(string))
	if got := dueIn(t, third, "Europe/Berlin"); got != "Fri 2030-01-11 09:00" || third["occurrence"] != 3.0 {
		t.Fatalf("third: %s, %v", got, third)
	}
	mustStatus(t, skipTask(t, user, second["id"].(string)), http.StatusConflict)
	complete(t, user, third["id"].(string), "")
	fourth := nextOf(t, user, third["id"].(string))
	if got := dueIn(t, fourth, "Europe/Berlin"); got != "Mon 2030-01-14 09:00" || fourth["occurrence"] != 4.0 {
		t.Fatalf("fourth: %s, %v", got, fourth)
	}
	complete(t, user, fourth["id"].(string), "")
	settle(t, user)
	if n := children(t, fourth["id"].(string)); n != 0 {
		t.Fatalf("the 4th of COUNT=4 got %d next occurrences", n)
	}
	if n := len(listTasks(t, user, "?status=skipped")); n != 1 {
		t.Fatalf("%d skipped tasks listed, want 1", n)
	}
}

// The completion basis restarts the rule on the completion's day: every 3
// days, completed today, is due 3 days from today at the due date's time.
func TestCompletionBasisRestartsTheRule(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	tk := createTask(t, user, `{"title":"Water the cactus","recurrence_rule":"FREQ=DAILY;INTERVAL=3",
		"due_date":"2030-06-01T07:30","timezone":"Asia/Tokyo"}`)
	done := complete(t, user, tk["id"].(string), "")
	next := nextOf(t, user, tk["id"].(string))
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	c := parseTime(t, done["completed_at"]).In(tokyo)
	want := time.Date(c.Year(), c.Month(), c.Day()+3, 7, 30, 0, 0, tokyo)
	if !parseTime(t, next["due_date"]).Equal(want) {
		t.Fatalf("due %s, want %s (3 days after the completion's day)", dueIn(t, next, "Asia/Tokyo"), want)
	}
}

// Skips and a completion of one occurrence racing, and the skip's event
// delivered again: exactly one next occurrence.
func TestSkipsRacingACompletionMakeOneOccurrence(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	id := createTask(t, user, `{"title":"Race","recurring_type":"daily","recurrence_basis":"schedule","due_date":"2030-01-01T09:00"}`)["id"].(string)
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				codes[i] = call(t, "PATCH", "/api/"+user+"/tasks/"+id+"/complete", testkit.Token(t, user), []byte(`{"completed":true}`)).status
				return
			}
			codes[i] = skipTask(t, user, id).status
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK && c != http.StatusConflict {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	nextOf(t, user, id)
	settle(t, user)
	var skippedEvent []byte
	if err := env.db.QueryRow(t.Context(), `SELECT event::text FROM outbox WHERE event->>'subject' = $1
		AND event->>'type' = 'com.todo.task.skipped' LIMIT 1`, id).Scan(&skippedEvent); err == nil {
		for range 2 {
			if r := push(t, testkit.AppToken, skippedEvent); r.status != http.StatusOK {
				t.Fatalf("the skip pushed again: %d %s", r.status, r.body)
			}
		}
	}
	if n := children(t, id); n != 1 {
		t.Fatalf("%d next occurrences, want 1 (answers %v)", n, codes)
	}
}

// The preview is the calendar's one implementation: a rule's next dates
// and its words; every bad rule is a 400 naming recurrence_rule, on the
// preview and on create, and writes nothing.
func TestPreviewAndBadRules(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	tok := testkit.Token(t, user)
	r := call(t, "POST", "/api/"+user+"/recurrence/preview", tok, []byte(`{"recurrence_rule":"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
		"recurrence_basis":"schedule","due_date":"2030-01-31T17:00","timezone":"America/New_York","limit":3}`))
	mustStatus(t, r, http.StatusOK)
	var p struct {
		DueDates       []time.Time `json:"due_dates"`
		RecurrenceRule string      `json:"recurrence_rule"`
		Text           string
	}
	r.json(t, &p)
	ny, _ := time.LoadLocation("America/New_York")
	want := []time.Time{time.Date(2030, 2, 28, 17, 0, 0, 0, ny), time.Date(2030, 3, 29, 17, 0, 0, 0, ny), time.Date(2030, 4, 30, 17, 0, 0, 0, ny)}
	if len(p.DueDates) != 3 || !p.DueDates[0].Equal(want[0]) || !p.DueDates[1].Equal(want[1]) || !p.DueDates[2].Equal(want[2]) ||
		p.Text != "every month on the last weekday" {
		t.Fatalf("the last workday of the month: %+v", p)
	}
	written := func() int {
		return count(t, `SELECT count(*) FROM tasks WHERE user_id = $1`, user) +
			count(t, `SELECT count(*) FROM outbox WHERE partition_key = $1`, user)
	}
	for rule, part := range map[string]string{
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30": "yields no date", "FREQ=HOURLY": "FREQ", "FREQ=DAILY;COUNT=0": "COUNT",
		"FREQ=DAILY;INTERVAL=0": "INTERVAL", "FREQ=DAILY;COUNT=2;UNTIL=20300101": "COUNT", "FREQ=MONTHLY;BYSETPOS=1": "BYSETPOS",
		"FREQ=DAILY;BYHOUR=9": "BYHOUR", "FREQ=WEEKLY;BYDAY=1MO": "BYDAY", "FREQ=DAILY;UNTIL=20200101": "UNTIL",
		"FREQ=DAILY;INTERVAL=1001": "INTERVAL", "FREQ=DAILY;COUNT=10001": "COUNT", "not a rule": "NAME=VALUE",
	} {
		body := fmt.Sprintf(`{"title":"x","recurrence_rule":%q,"due_date":"2030-01-31T17:00"}`, rule)
		for _, path := range []string{"/api/" + user + "/tasks", "/api/" + user + "/recurrence/preview"} {
			if path != "/api/"+user+"/tasks" {
				body = strings.Replace(body, `"title":"x",`, "", 1)
			}
			r := call(t, "POST", path, tok, []byte(body))
			var e struct {
				Error struct{ Field, Message string }
			}
			r.json(t, &e)
			if r.status != http.StatusBadRequest || e.Error.Field != "recurrence_rule" || !strings.Contains(e.Error.Message, part) {
				t.Errorf("%s on %s: %d %s, want 400 naming recurrence_rule and %s", rule, path, r.status, r.body, part)
			}
		}
	}
	r = call(t, "POST", "/api/"+user+"/tasks", tok, []byte(`{"title":"x","recurring_type":"daily","recurrence_rule":"FREQ=WEEKLY"}`))
	if r.status != http.StatusBadRequest || errorField(t, r) != "recurring_type" {
		t.Fatalf("a recurring_type the rule contradicts: %d %s", r.status, r.body)
	}
	r = call(t, "POST", "/api/"+user+"/recurrence/preview", tok, []byte(`{"recurring_type":"daily","limit":101}`))
	if r.status != http.StatusBadRequest || errorField(t, r) != "limit" {
		t.Fatalf("a limit of 101: %d %s", r.status, r.body)
	}
	if n := written(); n != 0 {
		t.Fatalf("refused rules wrote %d rows", n)
	}
}

// The task routes without the user segment act for the token's subject,
// the list answers an object, ?status= takes every spelling create takes,
// and the tag list takes q and limit.
func TestTheAPIAsFrontendsSpeakIt(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	tok := testkit.Token(t, user)
	r := call(t, "POST", "/api/tasks", tok, []byte(`{"title":"From a frontend","tags":["Home","homework","garden"],"status":"todo"}`))
	mustStatus(t, r, http.StatusCreated)
	created := r.task(t)
	id := created["id"].(string)
	if created["user_id"] != user {
		t.Fatalf("created for %v, want the token's subject %s", created["user_id"], user)
	}
	r = call(t, "GET", "/api/tasks?status=todo", tok, nil)
	mustStatus(t, r, http.StatusOK)
	var list struct {
		Tasks      []map[string]any
		Total      int
		NextCursor *string `json:"next_cursor"`
	}
	r.json(t, &list)
	if len(list.Tasks) != 1 || list.Total != 1 || list.NextCursor != nil || list.Tasks[0]["id"] != id {
		t.Fatalf("GET /api/tasks: %s", r.body)
	}
	mustStatus(t, call(t, "GET", "/api/tasks/"+id, tok, nil), http.StatusOK)
	mustStatus(t, call(t, "PATCH", "/api/tasks/"+id, tok, []byte(`{"status":"In-Progress"}`)), http.StatusOK)
	for status, want := range map[string]int{"in-progress": 1, "inprogress": 1, "todo": 1, "complete": 0, "skipped": 0, "Open": 1} {
		if n := len(listTasks(t, user, "?status="+status)); n != want {
			t.Errorf("?status=%s: %d tasks, want %d", status, n, want)
		}
	}
	mustStatus(t, call(t, "PATCH", "/api/tasks/"+id+"/complete", tok, nil), http.StatusOK)
	if n := len(listTasks(t, user, "?status=complete")); n != 1 {
		t.Errorf("?status=complete: %d, want 1", n)
	}
	r = call(t, "GET", "/api/tags?q=HO&limit=1", tok, nil)
	mustStatus(t, r, http.StatusOK)
	var tags []struct{ Tag string }
	r.json(t, &tags)
	if len(tags) != 1 || !strings.HasPrefix(strings.ToLower(tags[0].Tag), "ho") {
		t.Fatalf("tags ?q=HO&limit=1: %s", r.body)
	}
	mustStatus(t, call(t, "POST", "/api/recurrence/preview", tok, []byte(`{"recurring_type":"weekly"}`)), http.StatusOK)
	// In the family without the user segment /api/tasks/tags is a task id.
	mustStatus(t, call(t, "GET", "/api/tasks/tags", tok, nil), http.StatusNotFound)
	mustStatus(t, call(t, "GET", "/api/tasks", "", nil), http.StatusUnauthorized)
	mustStatus(t, call(t, "DELETE", "/api/tasks/"+id, tok, nil), http.StatusNoContent)
	// A user whose id is "tasks" lists their own tasks the same way.
	mustStatus(t, call(t, "GET", "/api/tasks", testkit.Token(t, "tasks"), nil), http.StatusOK)
}
