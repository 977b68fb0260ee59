package allinone_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func parseTime(tb testing.TB, v any) time.Time {
	tb.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("%v is not an RFC 3339 time", v)
	}
	return ts
}

// listTasks returns user's tasks through the API.
func listTasks(tb testing.TB, user, query string) []map[string]any {
	tb.Helper()
	r := call(tb, "GET", "/api/"+user+"/tasks"+query, testkit.Token(tb, user), nil)
	mustStatus(tb, r, http.StatusOK)
	var list struct {
		Tasks []map[string]any
		Total int
	}
	r.json(tb, &list)
	if list.Total < len(list.Tasks) {
		tb.Fatalf("total %d, page of %d", list.Total, len(list.Tasks))
	}
	return list.Tasks
}

func TestDailyTaskCompletedCreatesOneNextOccurrence(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	parent := createTask(t, user, `{"title":"Water the plants","description":"balcony","priority":"high",
		"tags":["home","garden"],"recurring_type":"daily"}`)
	id := parent["id"].(string)
	done := complete(t, user, id, "")
	if done["status"] != "done" || done["completed"] != true || done["completed_at"] == nil {
		t.Fatalf("completed task: %v", done)
	}
	var next map[string]any
	eventually(t, "next occurrence listed", func() bool {
		for _, tk := range listTasks(t, user, "?status=pending") {
			if tk["parent_task_id"] == id {
				next = tk
				return true
			}
		}
		return false
	})
	due, completedAt := parseTime(t, next["due_date"]), parseTime(t, done["completed_at"])
	if !due.Equal(completedAt.Add(24 * time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("next due %v, want one day after completion %v", due, completedAt)
	}
	if next["title"] != "Water the plants" || next["description"] != "balcony" || next["priority"] != "high" ||
		next["status"] != "pending" || next["recurring_type"] != "daily" || len(next["tags"].([]any)) != 2 {
		t.Fatalf("next occurrence does not copy the task: %v", next)
	}
	list := listTasks(t, user, "")
	if len(list) != 2 || list[0]["id"] != next["id"] {
		t.Fatalf("list must hold both tasks, newest first: %v", list)
	}
	settle(t, user)
	if n := children(t, id); n != 1 {
		t.Fatalf("%d next occurrences, want 1", n)
	}
	if n := count(t, `SELECT count(*) FROM outbox WHERE partition_key = $1 AND event->>'type' = $2`,
		user, events.TypeTaskCreated); n != 2 {
		t.Fatalf("%d task.created events, want 2 (task and its next occurrence)", n)
	}
}

func TestCompletingTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	id := createTask(t, user, `{"title":"Pay rent","recurring_type":"monthly"}`)["id"].(string)
	first := complete(t, user, id, `{"completed":true}`)
	second := complete(t, user, id, `{"completed":true}`)
	if first["completed_at"] != second["completed_at"] || second["status"] != "done" {
		t.Fatalf("second completion changed the task: %v vs %v", first, second)
	}
	settle(t, user)
	if n := count(t, `SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = $2`,
		id, events.TypeTaskCompleted); n != 1 {
		t.Fatalf("%d task.completed events, want 1", n)
	}
	if n := children(t, id); n != 1 {
		t.Fatalf("%d next occurrences, want 1", n)
	}
}

func TestReopeningEmitsUpdatedAndNeverASecondOccurrence(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	id := createTask(t, user, `{"title":"Stretch","recurring_type":"daily"}`)["id"].(string)
	complete(t, user, id, "")
	settle(t, user)
	reopened := complete(t, user, id, "") // no body toggles back
	if reopened["status"] != "pending" || reopened["completed_at"] != nil || reopened["completed"] != false {
		t.Fatalf("reopened task: %v", reopened)
	}
	if n := count(t, `SELECT count(*) FROM outbox WHERE event->>'subject' = $1 AND event->>'type' = $2`,
		id, events.TypeTaskUpdated); n != 1 {
		t.Fatalf("%d task.updated events, want 1", n)
	}
	complete(t, user, id, `{"completed":true}`) // completed again: a new event, same parent
	settle(t, user)
	if n := children(t, id); n != 1 {
		t.Fatalf("%d next occurrences, want exactly 1", n)
	}
	if n := count(t, `SELECT count(*) FROM processed_events p JOIN outbox o ON o.event_id = p.event_id
		WHERE o.event->>'subject' = $1`, id); n != 2 {
		t.Fatalf("%d completion events handled, want 2", n)
	}
}

func TestEndDateStopsTheSeries(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	cases := []struct{ name, body string }{
		{"end date before the next slot", `{"title":"Last one","recurring_type":"daily","due_date":"2026-03-10T09:00:00Z",
			"recurring_end_date":"2026-03-10T23:00:00Z","recurrence_basis":"schedule"}`},
		{"completed late, after the end date", `{"title":"Until the 11th","recurring_type":"daily",
			"due_date":"2026-03-10T09:00:00Z","recurring_end_date":"2026-03-11T09:00:00Z","recurrence_basis":"schedule"}`},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		ids[i] = createTask(t, user, tc.body)["id"].(string)
	}
	// Both due dates are in the past, so the late completion skips to the
	// first slot after now, which is past both end dates.
	for i, tc := range cases {
		complete(t, user, ids[i], "")
		settle(t, user)
		if n := children(t, ids[i]); n != 0 {
			t.Fatalf("%s: %d next occurrences after the series ended, want 0", tc.name, n)
		}
	}
	// With a future due date the inclusive boundary creates the occurrence.
	due := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	end := due.Add(24 * time.Hour)
	id := createTask(t, user, `{"title":"Boundary","recurring_type":"daily","recurrence_basis":"schedule",
		"due_date":"`+due.Format(time.RFC3339)+`","recurring_end_date":"`+end.Format(time.RFC3339)+`"}`)["id"].(string)
	complete(t, user, id, "")
	settle(t, user)
	var got time.Time
	if err := env.db.QueryRow(context.Background(), `SELECT due_date FROM tasks WHERE parent_task_id = $1`, id).Scan(&got); err != nil {
		t.Fatalf("no occurrence on the inclusive end date: %v", err)
	}
	if !got.Equal(end) {
		t.Fatalf("occurrence due %v, want %v", got, end)
	}
	id2 := createTask(t, user, `{"title":"Past boundary","recurring_type":"daily","recurrence_basis":"schedule",
		"due_date":"`+due.Format(time.RFC3339)+`","recurring_end_date":"`+end.Add(-time.Second).Format(time.RFC3339)+`"}`)["id"].(string)
	complete(t, user, id2, "")
	settle(t, user)
	if n := children(t, id2); n != 0 {
		t.Fatalf("%d occurrences past the end date, want 0", n)
	}
}

func TestScheduleInTimeZoneKeepsLocalTime(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	year := time.Now().Year() + 1
	// Weekly at 09:00 New York time across the March DST change.
	due := time.Date(year, 3, 5, 9, 0, 0, 0, mustZone(t, "America/New_York"))
	id := createTask(t, user, `{"title":"Standup","recurring_type":"weekly","recurrence_basis":"schedule",
		"timezone":"America/New_York","due_date":"`+due.Format("2006-01-02T15:04")+`"}`)["id"].(string)
	complete(t, user, id, "")
	settle(t, user)
	var got time.Time
	if err := env.db.QueryRow(context.Background(), `SELECT due_date FROM tasks WHERE parent_task_id = $1`, id).Scan(&got); err != nil {
		t.Fatal(err)
	}
	local := got.In(mustZone(t, "America/New_York"))
	if local.Hour() != 9 || local.Day() != 12 || local.Month() != time.March {
		t.Fatalf("next due %v (local %v), want March 12 09:00 local", got, local)
	}
}

func mustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := task.ValidLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// completedEvent builds a task.completed event for a task created through
// the API and completes it in the database without queueing the event, so
// tests control its delivery.
func completedEvent(tb testing.TB, user string) (cloudevents.Event, string) {
	tb.Helper()
	tk := createTask(tb, user, `{"title":"Delivered by hand","recurring_type":"daily"}`)
	id := tk["id"].(string)
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := env.db.Exec(context.Background(), `UPDATE tasks SET status = 'done', completed_at = $2 WHERE id = $1`,
		id, now); err != nil {
		tb.Fatal(err)
	}
	e, err := events.ForTask(events.TypeTaskCompleted, "test", task.Task{ID: id, UserID: user,
		Title: "Delivered by hand", Status: task.StatusDone, RecurringType: task.RecurDaily, CompletedAt: &now}, now)
	if err != nil {
		tb.Fatal(err)
	}
	return e, id
}

// pushEvent pushes e as a structured CloudEvent with the app token.
func pushEvent(tb testing.TB, e cloudevents.Event) reply {
	tb.Helper()
	body, err := e.MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return push(tb, testkit.AppToken, body)
}

// push posts body to recur-task's push endpoint with token as bearer.
func push(tb testing.TB, token string, body []byte) reply {
	tb.Helper()
	return call(tb, "POST", "/events/recur-task", token, body, "Content-Type", "application/cloudevents+json")
}

func TestRedeliveredEventCreatesOneOccurrence(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	e, id := completedEvent(t, user)
	pub, err := kafka.NewPublisher(strings.Split(env.stack.Env["KAFKA_BROKERS"], ","), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for i := 0; i < 3; i++ {
		if err := pub.Publish(context.Background(), events.TopicTaskEvents, e); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		r := pushEvent(t, e)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"SUCCESS"`) {
			t.Fatalf("push delivery: %d %s", r.status, r.body)
		}
	}
	// A later event on the same partition key is handled after the copies.
	marker, markerID := completedEvent(t, user)
	if err := pub.Publish(context.Background(), events.TopicTaskEvents, marker); err != nil {
		t.Fatal(err)
	}
	eventually(t, "marker handled", func() bool { return children(t, markerID) == 1 })
	if n := children(t, id); n != 1 {
		t.Fatalf("%d next occurrences after 5 deliveries, want 1", n)
	}
	if n := count(t, `SELECT count(*) FROM processed_events WHERE event_id = $1`, e.ID()); n != 1 {
		t.Fatalf("%d processed rows, want 1", n)
	}
}

func TestConcurrentDeliveryCreatesOneOccurrence(t *testing.T) {
	t.Parallel()
	user := testkit.User()
	e, id := completedEvent(t, user)
	const n = 8
	var wg sync.WaitGroup
	replies := make([]reply, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = pushEvent(t, e)
		}()
	}
	wg.Wait()
	created := 0
	for _, r := range replies {
		if r.status != http.StatusOK {
			t.Fatalf("delivery answered %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), `"created"`) {
			created++
		}
	}
	if created != 1 || children(t, id) != 1 {
		t.Fatalf("%d deliveries reported created, %d children; want 1 and 1", created, children(t, id))
	}
}

func TestPoisonPushIsDropped(t *testing.T) {
	t.Parallel()
	e, _ := completedEvent(t, testkit.User())
	e.SetSubject("x")
	_ = e.SetData(cloudevents.ApplicationJSON, map[string]any{"task_id": "not-a-uuid"})
	r := pushEvent(t, e)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"DROP"`) {
		t.Fatalf("poison push: %d %s", r.status, r.body)
	}
	eventually(t, "dead letter queued", func() bool { return deadLettersOf(t, e.ID()) == 1 })
	if r := push(t, testkit.AppToken, []byte(`not an event`)); r.status != http.StatusBadRequest {
		t.Fatalf("non-CloudEvent push: %d %s", r.status, r.body)
	}
}

func TestGatewayHealth(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/health/liveness", "/health/readiness"} {
		if r := call(t, "GET", path, "", nil); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
}
