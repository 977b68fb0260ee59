package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/dev/daprd"
	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

// daprResources writes k8s/dapr/ (the committed component,
// subscription and resiliency policy) into dir as self-hosted resources
// for the test broker.
func daprResources(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "dapr-resources")
	if err := daprd.Resources(filepath.Join("..", daprd.Tree), out, sys.kafka.Addr()); err != nil {
		t.Fatal(err)
	}
	return out
}

// daprApp is a function binary behind its own daprd.
type daprApp struct {
	fn, bin, resources, config string
	env                        map[string]string
	app                        *harness.Proc
	dapr                       *daprd.Sidecar
}

// startSidecar starts (or restarts) the app's daprd, on the same ports.
func (a *daprApp) startSidecar(t *testing.T, ports daprd.Ports) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(sys.dir, a.fn+"-daprd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	d, err := daprd.Start(daprd.Options{Bin: a.bin, AppID: a.fn, AppPort: a.app.Port, Ports: ports,
		Resources: a.resources, AppToken: a.env["APP_API_TOKEN"], Config: a.config, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	a.dapr = d
}

func startDaprApp(t *testing.T, bin, fn, resources string, env map[string]string) *daprApp {
	t.Helper()
	ports, err := daprd.NewPorts()
	if err != nil {
		t.Fatal(err)
	}
	env["DAPR_HTTP_PORT"] = fmt.Sprint(ports.HTTP)
	app, err := harness.StartProc(filepath.Join(sys.bins, fn), fn+"-dapr", env, sys.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Stop)
	// The sidecars export their spans to the system's receiver too.
	config := filepath.Join(sys.dir, "dapr-tracing.yaml")
	if err := daprd.TracingConfig(config, strings.TrimPrefix(sys.traces.URL(), "http://")); err != nil {
		t.Fatal(err)
	}
	a := &daprApp{fn: fn, bin: bin, resources: resources, config: config, env: env, app: app}
	a.startSidecar(t, ports)
	return a
}

// requestsAnswered reads from p's metrics how many requests to route were
// answered with status.
func requestsAnswered(t *testing.T, p *harness.Proc, route, status string) float64 {
	t.Helper()
	code, body, err := callURL(strings.TrimSuffix(p.MetricsURL(), "/metrics"), "GET", "/metrics", "", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("metrics: %d %v", code, err)
	}
	want := fmt.Sprintf(`todo_http_request_duration_seconds_count{method="POST",route=%q,status=%q} `, route, status)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, want); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// doneWithoutEvents stores n done daily tasks of user without queueing
// their events, so the test delivers them when it chooses.
func doneWithoutEvents(t *testing.T, db *pgxpool.Pool, user string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := uuid.NewString()
		if _, err := db.Exec(context.Background(), `INSERT INTO tasks (id, user_id, title, recurring_type, status, completed_at)
			VALUES ($1, $2, $3, 'daily', 'done', date_trunc('milliseconds', now()))`, id, user, fmt.Sprint("outage ", i)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// completionEvents builds the task.completed events of the done tasks ids
// from their stored rows.
func completionEvents(t *testing.T, db *pgxpool.Pool, ids []string) []cloudevents.Event {
	t.Helper()
	var out []cloudevents.Event
	for _, id := range ids {
		var tk task.Task
		if err := db.QueryRow(context.Background(), `SELECT id, user_id, title, completed_at FROM tasks WHERE id = $1`, id).
			Scan(&tk.ID, &tk.UserID, &tk.Title, &tk.CompletedAt); err != nil {
			t.Fatal(err)
		}
		tk.Status, tk.RecurringType = task.StatusDone, task.RecurDaily
		e, err := events.ForTask(events.TypeTaskCompleted, "e2e", tk, *tk.CompletedAt)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// publishThroughDapr publishes e to task-events through the sidecar d, as
// the relay does.
func publishThroughDapr(t *testing.T, d *daprd.Sidecar, e cloudevents.Event) {
	t.Helper()
	body, _ := e.MarshalJSON()
	req, _ := http.NewRequest("POST", d.Ports.URL()+"/v1.0/publish/kafka-pubsub/task-events?metadata.partitionKey="+
		url.QueryEscape(testkit.Extension(e, events.ExtPartitionKey))+"&metadata.content-type=application%2Fcloudevents%2Bjson",
		bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("publish through daprd: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestDaprPath runs the plan's architecture: complete-task publishes through
// its daprd to Kafka; recur-task's daprd subscribes (recur-task's
// programmatic subscription) and delivers to /api/events/task-completed.
// On a database of its own, so the shared system's relays do not publish
// its outbox.
func TestDaprPath(t *testing.T) {
	bin, err := daprd.Binary()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dbName := "dapr_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if err := sys.pg.CreateDatabase(ctx, dbName); err != nil {
		t.Fatal(err)
	}
	url := sys.pg.URL(dbName)
	if err := runMigrations(ctx, url); err != nil {
		t.Fatal(err)
	}
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	resources := daprResources(t, sys.dir)
	// Topics must exist before daprd subscribes or publishes (in a cluster,
	// created with the broker).
	if err := kafka.EnsureTopics(zerolog.Nop(), []string{sys.proxy.Addr()}, 3, events.TopicTaskEvents, events.TopicDeadLetters); err != nil {
		t.Fatal(err)
	}
	env := func() map[string]string {
		env := testkit.Env(url, map[string]string{"EVENTS_TRANSPORT": "dapr", "KAFKA_CONSUME": "false",
			"LOG_LEVEL": "info", "RECONCILE_EVERY": "0"})
		maps.Copy(env, sys.traced())
		return env
	}
	recur := startDaprApp(t, bin, "recur-task", resources, env())
	complete := startDaprApp(t, bin, "complete-task", resources, env())

	// The wrong app token is refused on the Dapr route.
	req, _ := http.NewRequest("POST", recur.app.URL()+"/api/events/task-completed", strings.NewReader(`{}`))
	req.Header.Set("dapr-api-token", "wrong-token-wrong-token")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong app token: %v %v", resp, err)
	}

	// Completions through the sidecars: exactly one occurrence each.
	user := testkit.User()
	completeAll := func(n int) []string {
		var parents []string
		for i := range n {
			id := uuid.NewString()
			if _, err := db.Exec(ctx, `INSERT INTO tasks (id, user_id, title, recurring_type) VALUES ($1, $2, $3, 'daily')`,
				id, user, fmt.Sprint("dapr ", i)); err != nil {
				t.Fatal(err)
			}
			if code, body, err := callURL(complete.app.URL(), "PATCH", "/api/"+user+"/tasks/"+id+"/complete", user, ""); err != nil || code != 200 {
				t.Fatalf("complete: %d %s %v", code, body, err)
			}
			parents = append(parents, id)
		}
		return parents
	}
	exactlyOne := func(what string, parents []string) time.Duration {
		took := testkit.Eventually(t, what, 2*time.Minute, func() bool {
			return testkit.Count(t, db, `SELECT count(DISTINCT parent_task_id) FROM tasks WHERE parent_task_id = ANY($1)`, parents) == len(parents)
		})
		if n := testkit.Count(t, db, `SELECT count(*) FROM tasks WHERE parent_task_id = ANY($1)`, parents); n != len(parents) {
			t.Fatalf("%s: %d occurrences for %d completions", what, n, len(parents))
		}
		return took
	}
	parents := completeAll(5)
	took := exactlyOne("occurrences through Dapr", parents)

	// One completion's trace, through both sidecars: complete-task's
	// relay sends through its daprd, recur-task's daprd pushes, and the
	// spans of both sidecars sit between the send and the handling.
	traced := uuid.NewString()
	if _, err := db.Exec(ctx, `INSERT INTO tasks (id, user_id, title, recurring_type) VALUES ($1, $2, 'traced', 'daily')`, traced, user); err != nil {
		t.Fatal(err)
	}
	traceID, root := tracedCompletion(t, complete.app.URL(), user, traced)
	exactlyOne("the traced completion's occurrence", []string{traced})
	tr := waitCompletionTrace(t, sys.traces, traceID, root, true)
	sidecars := 0
	for _, s := range sys.traces.Trace(traceID) {
		if s.ParentID == tr.sent.SpanID && !strings.HasPrefix(s.Name, "process") {
			sidecars++
		}
	}
	if sidecars == 0 {
		t.Fatalf("no sidecar span under the relay's send")
	}

	// A skip through the sidecars: its event reaches recur-task by the
	// subscription's rule for com.todo.task.skipped.
	skipped := task.Task{ID: uuid.NewString(), UserID: user, Title: "skipped through dapr", Status: task.StatusSkipped,
		RecurringType: task.RecurDaily}
	if err := db.QueryRow(ctx, `INSERT INTO tasks (id, user_id, title, recurring_type, status, skipped_at)
		VALUES ($1, $2, $3, 'daily', 'skipped', date_trunc('milliseconds', now())) RETURNING skipped_at`,
		skipped.ID, user, skipped.Title).Scan(&skipped.SkippedAt); err != nil {
		t.Fatal(err)
	}
	skipEvent, err := events.ForTask(events.TypeTaskSkipped, "e2e", skipped, *skipped.SkippedAt)
	if err != nil {
		t.Fatal(err)
	}
	publishThroughDapr(t, complete.dapr, skipEvent)
	exactlyOne("the occurrence after a skip through Dapr", []string{skipped.ID})

	// The sidecars down (any process's relay may publish the outbox, so
	// both): every completion still answers 200 and its event waits in the
	// outbox; the sidecars back, all are delivered.
	complete.dapr.Stop()
	recur.dapr.Stop()
	whileDown := completeAll(20)
	time.Sleep(time.Second)
	if n := testkit.Count(t, db, `SELECT count(*) FROM tasks WHERE parent_task_id = ANY($1)`, whileDown); n != 0 {
		t.Fatalf("%d occurrences with the sidecars down", n)
	}
	recur.startSidecar(t, recur.dapr.Ports)
	complete.startSidecar(t, complete.dapr.Ports)
	tookBack := exactlyOne("occurrences after the sidecars came back", whileDown)

	// The database down while Dapr delivers: recur-task answers RETRY, the
	// resiliency policy keeps retrying (never dead-letters early), and each
	// completion gets its occurrence once the database is back.
	done := doneWithoutEvents(t, db, user, 10)
	evts := completionEvents(t, db, done) // published by hand while the database is down
	startDatabase := stopDatabase(t)
	for _, e := range evts {
		publishThroughDapr(t, complete.dapr, e)
	}
	time.Sleep(10 * time.Second)
	startDatabase()
	tookDB := exactlyOne("occurrences after the database came back", done)
	retries := requestsAnswered(t, recur.app, "POST /api/events/task-completed", "5xx")
	if retries == 0 {
		t.Fatal("recur-task never answered RETRY (503) to daprd while the database was down")
	}

	// A poison event published through the sidecar: one dead letter, with
	// the reason, written by recur-task; none copied by daprd.
	poisonID := "poison-" + uuid.NewString()
	pub, _ := http.NewRequest("POST", complete.dapr.Ports.URL()+"/v1.0/publish/kafka-pubsub/task-events?metadata.partitionKey="+user,
		strings.NewReader(`{"specversion":"1.0","id":"`+poisonID+`","source":"/e2e","type":"com.todo.task.completed","datacontenttype":"application/json","data":{"task_id":"x"}}`))
	pub.Header.Set("Content-Type", "application/cloudevents+json")
	if resp, err := client.Do(pub); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("publish poison through daprd: %v %v", resp, err)
	}
	deadLetters := func() (ours, copies int) {
		for _, m := range testkit.ReadTopic(t, sys.proxy.Addr(), events.TopicDeadLetters) {
			e := testkit.Event(t, m)
			var d events.DeadLetterData
			switch {
			case e.ID() == poisonID:
				copies++
			case e.Type() == events.TypeDeadLettered && e.DataAs(&d) == nil && d.Origin == "http push" &&
				strings.Contains(string(d.Raw), poisonID) && d.Reason != "":
				ours++
			}
		}
		return ours, copies
	}
	testkit.Eventually(t, "the poison event's dead letter", time.Minute, func() bool { ours, _ := deadLetters(); return ours > 0 })
	time.Sleep(2 * time.Second) // a copy by daprd would come right after
	ours, copies := deadLetters()
	for _, m := range testkit.ReadTopic(t, sys.proxy.Addr(), events.TopicDeadLetters) {
		for _, e := range evts {
			if strings.Contains(string(m.Value), e.ID()) {
				t.Fatalf("event %s of the database outage was dead-lettered", e.ID())
			}
		}
	}
	if ours != 1 || copies != 0 {
		t.Fatalf("%d dead letters by recur-task, %d copies by daprd; want 1 and 0", ours, copies)
	}
	report(t, "%d completions published through complete-task's daprd, delivered by recur-task's daprd: %d next occurrences, 0 duplicates (%.1fs); both sidecars stopped for %d completions (all 200): %d occurrences, 0 duplicates, %.1fs after their restart; database stopped for 10s while %d events were delivered (%.0f RETRY answers, redelivered by daprd): %d occurrences, none dead-lettered, %.1fs after it came back; a poison event: 1 dead letter with its reason, 0 copies by daprd; a wrong app token: 401",
		len(parents), len(parents), took.Seconds(), len(whileDown), len(whileDown), tookBack.Seconds(), len(evts), retries, len(done), tookDB.Seconds())
}
