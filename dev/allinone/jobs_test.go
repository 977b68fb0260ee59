package allinone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/todoevents/todo/dev/daprd"
	"github.com/todoevents/todo/shared/testkit"
)

// TestRemindersByDaprJobs: with REMINDER_TRIGGER=dapr-jobs behind real
// daprd sidecars and a real Dapr scheduler, each reminder gets its job
// (reminder-<task>-<reminder>, due at remind_at); the job's callback fires
// the reminder on time (the scheduler's own look comes only once a
// minute), once; completing a task deletes its reminder's job, and
// nothing fires for it.
func TestRemindersByDaprJobs(t *testing.T) {
	t.Parallel()
	schedBin, err := daprd.SchedulerBinary()
	if err != nil {
		t.Fatal(err)
	}
	sched, err := daprd.StartScheduler(schedBin, t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Stop()
	url := testkit.Database(t)
	s := startBehindDapr(t, url, map[string]string{"REMINDER_TRIGGER": "dapr-jobs"}, sched.Addr)
	var sidecar string
	for _, sc := range s.Sidecars() {
		if sc.Function == "recur-task" {
			sidecar = sc.Ports.URL()
		}
	}
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	user := testkit.User()
	at := time.Now().Add(8 * time.Second).UTC().Truncate(time.Millisecond)
	create := func(title string) (id, job string) {
		t.Helper()
		body := fmt.Sprintf(`{"title":%q,"due_date":%q,"reminders":[{"at":%q}]}`, title,
			at.Add(time.Hour).Format(time.RFC3339), at.Format(time.RFC3339Nano))
		resp, err := http.DefaultClient.Do(testkit.Request(t, "POST", srv.URL+"/api/"+user+"/tasks", testkit.Token(t, user), []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tk struct {
			ID        string
			Reminders []struct{ ID string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %v", resp.StatusCode, err)
		}
		return tk.ID, "reminder-" + tk.ID + "-" + tk.Reminders[0].ID
	}
	jobStatus := func(name string) int {
		resp, err := http.Get(sidecar + "/v1.0-alpha1/jobs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fires, firesJob := create("Call the vet")
	done, doneJob := create("Buy stamps")
	for _, job := range []string{firesJob, doneJob} {
		testkit.Eventually(t, "job "+job+" in the Dapr scheduler", 10*time.Second, func() bool { return jobStatus(job) == http.StatusOK })
	}
	resp, err := http.DefaultClient.Do(testkit.Request(t, "PATCH", srv.URL+"/api/"+user+"/tasks/"+done+"/complete", testkit.Token(t, user), nil))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("complete: %v %v", resp, err)
	}
	resp.Body.Close()
	testkit.Eventually(t, "the completed task's job deleted", 10*time.Second, func() bool { return jobStatus(doneJob) != http.StatusOK })
	if time.Now().After(at) {
		t.Fatal("the completed task's job was gone only after its time (it fired rather than being deleted)")
	}
	db := testkit.Store(t, url)
	sentAt := func(id string) *time.Time {
		var at *time.Time
		if err := db.Pool.QueryRow(context.Background(), `SELECT (reminders->0->>'sent_at')::timestamptz FROM tasks WHERE id = $1`, id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	testkit.Eventually(t, "the reminder fired by its job", 30*time.Second, func() bool { return sentAt(fires) != nil })
	lateness := sentAt(fires).Sub(at)
	t.Logf("REPORT reminder fired by its Dapr job %s after remind_at", lateness.Round(time.Millisecond))
	if lateness < 0 || lateness > 10*time.Second {
		t.Fatalf("fired %s after its time: not by its job (the catch-up scan looks once a minute)", lateness)
	}
	time.Sleep(time.Second)
	if n := testkit.Count(t, db.Pool, `SELECT count(*) FROM outbox WHERE topic = 'reminders' AND partition_key = $1`, user); n != 1 {
		t.Fatalf("%d reminder events, want 1 (the completed task's job was deleted)", n)
	}
	if sentAt(done) != nil {
		t.Fatal("the completed task's reminder fired")
	}
}
