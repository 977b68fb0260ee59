package allinone_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/testkit"
)

// hookCall is a delivery a receiver got, and when.
type hookCall struct {
	at   time.Time
	id   string
	body struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
}

// TestWebhookReminderOnTime: a reminder reaches the user's webhook once
// and on time (its lateness measured from remind_at to the receiver),
// through the whole system: the scheduler, the outbox, the broker, notify
// and the signed POST; the completion that follows is delivered too, and
// a second reminder, due after it, is cancelled and never delivered.
func TestWebhookReminderOnTime(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var calls []hookCall
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := hookCall{at: time.Now(), id: r.Header.Get("webhook-id")}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &c.body) != nil {
			t.Errorf("a delivery that is not JSON: %s", b)
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	}))
	defer rcv.Close()
	got := func() []hookCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]hookCall(nil), calls...)
	}
	user := testkit.User()
	tok := testkit.Token(t, user)
	r := call(t, "POST", "/api/"+user+"/webhooks", tok, []byte(`{"url":"`+rcv.URL+`/todo","events":["task.reminder","task.completed"]}`))
	mustStatus(t, r, http.StatusCreated)

	remindAt := time.Now().Add(2 * time.Second).UTC().Truncate(time.Millisecond)
	later := remindAt.Add(time.Hour)
	tk := createTask(t, user, `{"title":"Call the plumber","due_date":"`+later.Add(time.Hour).Format(time.RFC3339)+`",
		"reminders":[{"at":"`+remindAt.Format(time.RFC3339Nano)+`"},{"at":"`+later.Format(time.RFC3339)+`"}]}`)
	id := tk["id"].(string)
	testkit.Eventually(t, "the reminder's delivery", 15*time.Second, func() bool { return len(got()) >= 1 })
	first := got()[0]
	lateness := first.at.Sub(remindAt)
	t.Logf("REPORT webhook reminder lateness (remind_at to the receiver): %s", lateness.Round(time.Millisecond))
	if first.body.Type != "task.reminder" || first.body.Data["task_id"] != id || first.body.Data["user_id"] != user ||
		first.body.Data["late"] != false || lateness < 0 || lateness > 5*time.Second {
		t.Fatalf("reminder delivery %+v after %s", first.body, lateness)
	}
	complete(t, user, id, "")
	testkit.Eventually(t, "the completion's delivery", 15*time.Second, func() bool { return len(got()) >= 2 })
	time.Sleep(time.Second) // room for a duplicate to arrive
	all := got()
	if len(all) != 2 || all[1].body.Type != "task.completed" || all[1].body.Data["task_id"] != id || all[0].id == all[1].id {
		t.Fatalf("deliveries: %+v, want the reminder once, then the completion", all)
	}
	r = call(t, "GET", "/api/"+user+"/tasks/"+id, tok, nil)
	mustStatus(t, r, http.StatusOK)
	var stored struct{ Reminders []struct{ State string } }
	r.json(t, &stored)
	if len(stored.Reminders) != 2 || stored.Reminders[0].State != "sent" || stored.Reminders[1].State != "cancelled" {
		t.Fatalf("reminders after the completion: %+v, want sent and cancelled", stored.Reminders)
	}
}
