package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/testkit"
)

// usersOnEveryPartition returns perPartition users of each of the topic's
// partitions, as the relay's hash partitioner places their events.
func usersOnEveryPartition(t *testing.T, partitions int32, perPartition int) map[int32][]string {
	t.Helper()
	hash := sarama.NewHashPartitioner(events.TopicTaskEvents)
	out := map[int32][]string{}
	for full := int32(0); full < partitions; {
		user := testkit.User()
		p, err := hash.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(user)}, partitions)
		if err != nil {
			t.Fatal(err)
		}
		if len(out[p]) < perPartition {
			if out[p] = append(out[p], user); len(out[p]) == perPartition {
				full++
			}
		}
	}
	return out
}

func createAs(t *testing.T, user, body string) (int, string, []byte) {
	t.Helper()
	code, b, err := call("create-task", "POST", "/api/"+user+"/tasks", user, body)
	if err != nil {
		t.Fatal(err)
	}
	var tk struct{ ID string }
	_ = json.Unmarshal(b, &tk)
	return code, tk.ID, b
}

// TestYear9999WedgeHarmsNoOne replays the attack that once stopped every
// next occurrence of a partition's users: a daily schedule task due at the
// end of year 9999 in Etc/GMT+12 (year 10000 in UTC), completed. The exact
// request is now a 400; the latest one still accepted (its next slot would
// be past the last storable time) ends its series quietly when completed.
// Completed first on its partition, it holds up nobody: every other user
// on every partition, and the attacker's other task, get their next
// occurrences, and recur-task retries nothing.
func TestYear9999WedgeHarmsNoOne(t *testing.T) {
	users := usersOnEveryPartition(t, 3, 3)
	attacker := users[0][0]
	if code, _, body := createAs(t, attacker, `{"title":"wedge","recurring_type":"daily","recurrence_basis":"schedule","timezone":"Etc/GMT+12","due_date":"9999-12-30T23:30"}`); code != http.StatusBadRequest {
		t.Fatalf("the exact wedge: %d %s, want 400", code, body)
	}
	code, wedge, body := createAs(t, attacker, `{"title":"wedge","recurring_type":"daily","recurrence_basis":"schedule","timezone":"Etc/GMT+12","due_date":"9999-12-30T10:00"}`)
	if code != http.StatusCreated {
		t.Fatalf("the last day that can still be stored: %d %s", code, body)
	}
	var others []item
	for _, us := range users {
		for _, u := range us {
			code, id, body := createAs(t, u, `{"title":"daily","recurring_type":"daily"}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, body)
			}
			others = append(others, item{u, id})
		}
	}
	retriesBefore := recurMetric(t, "todo_events_retries_total")
	completeAll(t, []item{{attacker, wedge}})
	completeAll(t, others)
	took := waitChildren(t, ids(others), time.Minute)
	waitCaughtUp(t, "recur-task")
	if have, _ := counts(t, []string{wedge}); have != 0 {
		t.Fatalf("the wedge got %d next occurrences; its series should have ended", have)
	}
	if retries := recurMetric(t, "todo_events_retries_total") - retriesBefore; retries != 0 {
		t.Fatalf("recur-task retried %v times", retries)
	}
	var recurred bool
	if err := sys.db.QueryRow(t.Context(), `SELECT recurred_at IS NOT NULL FROM tasks WHERE id = $1`, wedge).Scan(&recurred); err != nil || !recurred {
		t.Fatalf("the wedge's completion is not marked decided (%v): the reconciler would try it again", err)
	}
	report(t, "the year-9999 wedge: refused as sent (400); its last storable variant completed first on partition 0 ends its series; %d completions of 9 users on all 3 partitions (the attacker's other task included) got their next occurrences in %.1fs, 0 retries",
		len(others), took.Seconds())
}
