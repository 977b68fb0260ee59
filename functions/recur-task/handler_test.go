package function

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/ratelimit"
	"github.com/todoevents/todo/shared/store/storetest"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/testkit"
)

func newRecurrer(st *storetest.Store) *Recurrer {
	return &Recurrer{Occurrences: st, DeadLetters: st, Log: zerolog.Nop(), Metrics: metrics.New(), Now: app.Now}
}

func serve(p PushHandler) http.Handler {
	return testkit.Serve(p.Routes()...)
}

// doneTask stores a daily task of a new user, completed at completedAt,
// and returns it with its task.completed event.
func doneTask(t *testing.T, st *storetest.Store, completedAt time.Time) (task.Task, cloudevents.Event) {
	t.Helper()
	title, daily := "Run", "daily"
	tk, err := task.Draft{Title: &title, RecurringType: &daily}.Build(uuid.NewString(), testkit.User(), completedAt.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	created, _ := events.ForTask(events.TypeTaskCreated, "test", tk, tk.CreatedAt)
	if err := st.CreateTask(context.Background(), tk, created); err != nil {
		t.Fatal(err)
	}
	var e cloudevents.Event
	tk, err = st.UpdateTask(context.Background(), tk.UserID, tk.ID, func(x *task.Task) (*cloudevents.Event, error) {
		x.SetCompleted(true, completedAt)
		e, err = events.ForTask(events.TypeTaskCompleted, "test", *x, completedAt)
		return &e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk, e
}

func structured(t *testing.T, e cloudevents.Event) []byte {
	t.Helper()
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func children(st *storetest.Store, id string) int {
	n := 0
	for _, e := range st.Events() {
		var d events.TaskData
		if e.Type() == events.TypeTaskCreated && e.DataAs(&d) == nil && d.ParentTaskID != nil && *d.ParentTaskID == id {
			n++
		}
	}
	return n
}

func TestPushAuthentication(t *testing.T) {
	t.Parallel()
	ce := "application/cloudevents+json"
	cases := []struct {
		name, auth, configured, token string
		headers                       []string
		want                          int
	}{
		{"no token configured refuses everyone", config.PushAuthToken, "", "", nil, http.StatusUnauthorized},
		{"no token configured refuses a guess", config.PushAuthToken, "", "x", nil, http.StatusUnauthorized},
		{"missing token", config.PushAuthToken, testkit.AppToken, "", nil, http.StatusUnauthorized},
		{"wrong bearer", config.PushAuthToken, testkit.AppToken, "wrong-token-wrong-token", nil, http.StatusUnauthorized},
		{"bearer", config.PushAuthToken, testkit.AppToken, testkit.AppToken, nil, http.StatusOK},
		{"dapr-api-token", config.PushAuthToken, testkit.AppToken, "", []string{"dapr-api-token", testkit.AppToken}, http.StatusOK},
		{"PUSH_AUTH=none opens it", config.PushAuthNone, "", "", nil, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := storetest.New()
			h := serve(PushHandler{Recurrer: newRecurrer(st), Auth: tc.auth, Token: tc.configured})
			tk, e := doneTask(t, st, app.Now())
			rec := testkit.Do(t, h, "POST", "/", tc.token, structured(t, e), append([]string{"Content-Type", ce}, tc.headers...)...)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.want == http.StatusOK]; children(st, tk.ID) != want {
				t.Fatalf("%d occurrences, want %d", children(st, tk.ID), want)
			}
		})
	}
}

func TestPushRateLimitPerClient(t *testing.T) {
	t.Parallel()
	h := serve(PushHandler{Recurrer: newRecurrer(storetest.New()), Auth: config.PushAuthToken, Token: testkit.AppToken,
		Limit: ratelimit.New(1)}) // bursts of 5
	body := []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"com.todo.task.created","data":{}}`)
	for i := range 5 {
		if rec := testkit.Do(t, h, "POST", "/", testkit.AppToken, body, "Content-Type", "application/cloudevents+json"); rec.Code != http.StatusOK {
			t.Fatalf("push %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := testkit.Do(t, h, "POST", "/", "", body, "Content-Type", "application/cloudevents+json")
	if code, _ := testkit.ErrorCode(t, rec, http.StatusTooManyRequests); code != "rate_limited" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the limit: %s, Retry-After %q", code, rec.Header().Get("Retry-After"))
	}
}

// TestPushOutcomes covers every answer a pusher can get, on a fake store.
func TestPushOutcomes(t *testing.T) {
	t.Parallel()
	st := storetest.New()
	rec := newRecurrer(st)
	h := serve(PushHandler{Recurrer: rec, Auth: config.PushAuthToken, Token: testkit.AppToken})
	push := func(body []byte) (int, string) {
		r := testkit.Do(t, h, "POST", "/", testkit.AppToken, body, "Content-Type", "application/cloudevents+json")
		return r.Code, strings.TrimSpace(r.Body.String())
	}
	done, real := doneTask(t, st, app.Now())
	forged := real.Clone()
	forged.SetID(uuid.NewString())
	d := events.DataOf(events.TypeTaskCompleted, done)
	year1 := time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)
	d.CompletedAt = &year1
	_ = forged.SetData(cloudevents.ApplicationJSON, d)
	ghost := forged.Clone()
	ghost.SetID(uuid.NewString())
	d.TaskID, d.CompletedAt = uuid.NewString(), done.CompletedAt
	_ = ghost.SetData(cloudevents.ApplicationJSON, d)

	for _, step := range []struct {
		name string
		body []byte
		code int
		want string
	}{
		{"forged completion time", structured(t, forged), 200, `{"status":"SUCCESS","outcome":"stale"}`},
		{"task that does not exist", structured(t, ghost), 200, `{"status":"SUCCESS","outcome":"stale"}`},
		{"the real completion", structured(t, real), 200, `{"status":"SUCCESS","outcome":"created"}`},
		{"the same event again", structured(t, real), 200, `{"status":"SUCCESS","outcome":"duplicate"}`},
		{"poison", []byte(`{"specversion":"1.0","id":"w1","type":"x"}`), 200, `"status":"DROP"`},
		{"not a CloudEvent", []byte(`not an event`), 400, `"invalid"`},
	} {
		code, body := push(step.body)
		if code != step.code || !strings.Contains(body, step.want) {
			t.Fatalf("%s: %d %s, want %d %s", step.name, code, body, step.code, step.want)
		}
	}
	if n := children(st, done.ID); n != 1 {
		t.Fatalf("%d occurrences, want 1", n)
	}
	evts := st.Events()
	if last := evts[len(evts)-1]; last.Type() != events.TypeDeadLettered || events.TopicOf(last) != events.TopicDeadLetters ||
		last.Validate() != nil {
		t.Fatalf("the poison push was not dead-lettered as a valid event of ours: %v", last)
	}
	if got := testutil.ToFloat64(rec.Metrics.EventsProcessed.WithLabelValues("stale")); got != 2 {
		t.Fatalf("%v stale events counted, want 2", got)
	}
	st.Err = apperr.New(apperr.Unavailable, "database unavailable, try again")
	if code, body := push(structured(t, real)); code != http.StatusServiceUnavailable || !strings.Contains(body, `"RETRY"`) {
		t.Fatalf("database down: %d %s", code, body)
	}
}

// skippedTask stores a daily task of a new user, skipped at skippedAt, and
// returns it with its task.skipped event.
func skippedTask(t *testing.T, st *storetest.Store, skippedAt time.Time) (task.Task, cloudevents.Event) {
	t.Helper()
	tk, _ := doneTask(t, st, skippedAt) // a task of its own, then reopened and skipped
	var e cloudevents.Event
	tk, err := st.UpdateTask(context.Background(), tk.UserID, tk.ID, func(x *task.Task) (*cloudevents.Event, error) {
		x.SetCompleted(false, skippedAt)
		x.Skip(skippedAt)
		var err error
		e, err = events.ForTask(events.TypeTaskSkipped, "test", *x, skippedAt)
		return &e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk, e
}

func TestReconcilerOnAFakeStore(t *testing.T) {
	t.Parallel()
	st := storetest.New()
	rec := newRecurrer(st)
	lost, _ := doneTask(t, st, app.Now().Add(-time.Hour))
	lostSkip, _ := skippedTask(t, st, app.Now().Add(-time.Hour))
	fresh, _ := doneTask(t, st, app.Now())
	rc := &Reconciler{Completions: st, Recurrer: rec, Log: zerolog.Nop(), Grace: time.Minute, Retention: time.Hour}
	created, err := rc.Reconcile(context.Background())
	if err != nil || created != 2 || children(st, lost.ID) != 1 || children(st, lostSkip.ID) != 1 || children(st, fresh.ID) != 0 {
		t.Fatalf("first pass: created %d (%v); lost %d, lost skip %d, fresh %d", created, err, children(st, lost.ID),
			children(st, lostSkip.ID), children(st, fresh.ID))
	}
	if created, err := rc.Reconcile(context.Background()); err != nil || created != 0 {
		t.Fatalf("second pass created %d (%v)", created, err)
	}
	if got := testutil.ToFloat64(rec.Metrics.Reconciled); got != 2 {
		t.Fatalf("reconciled counter %v", got)
	}
}

// A skip pushed as a completion is: one next occurrence, a duplicate the
// second time, and a forged skip time is stale.
func TestPushedSkips(t *testing.T) {
	t.Parallel()
	st := storetest.New()
	h := serve(PushHandler{Recurrer: newRecurrer(st), Auth: config.PushAuthToken, Token: testkit.AppToken})
	tk, e := skippedTask(t, st, app.Now())
	forged := e.Clone()
	forged.SetID(uuid.NewString())
	d := events.DataOf(events.TypeTaskSkipped, tk)
	other := tk.SkippedAt.Add(-time.Minute)
	d.SkippedAt = &other
	_ = forged.SetData(cloudevents.ApplicationJSON, d)
	for _, step := range []struct {
		body []byte
		want string
	}{
		{structured(t, forged), `"outcome":"stale"`},
		{structured(t, e), `"outcome":"created"`},
		{structured(t, e), `"outcome":"duplicate"`},
	} {
		rec := testkit.Do(t, h, "POST", "/", testkit.AppToken, step.body, "Content-Type", "application/cloudevents+json")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), step.want) {
			t.Fatalf("%d %s, want %s", rec.Code, rec.Body, step.want)
		}
	}
	if n := children(st, tk.ID); n != 1 {
		t.Fatalf("%d next occurrences, want 1", n)
	}
}

func TestDaprRoutes(t *testing.T) {
	t.Parallel()
	st := storetest.New()
	h := serve(PushHandler{Recurrer: newRecurrer(st), Auth: config.PushAuthToken, Token: testkit.AppToken, PubSub: "kafka-pubsub"})
	rec := testkit.Do(t, h, "GET", "/dapr/subscribe", "", nil)
	var subs []struct {
		PubSubName, Topic, DeadLetterTopic string
		Routes                             struct {
			Rules []struct{ Match, Path string }
		}
	}
	testkit.Decode(t, rec, &subs)
	if rec.Code != http.StatusOK || len(subs) != 1 || subs[0].PubSubName != "kafka-pubsub" || subs[0].Topic != events.TopicTaskEvents ||
		subs[0].DeadLetterTopic != events.TopicDeadLetters || len(subs[0].Routes.Rules) != 2 ||
		subs[0].Routes.Rules[0].Path != "/api/events/task-completed" ||
		subs[0].Routes.Rules[0].Match != `event.type == "com.todo.task.completed"` ||
		subs[0].Routes.Rules[1].Path != "/api/events/task-completed" ||
		subs[0].Routes.Rules[1].Match != `event.type == "com.todo.task.skipped"` {
		t.Fatalf("subscription: %d %s", rec.Code, rec.Body)
	}
	if rec := testkit.Do(t, h, "GET", "/dapr/config", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("config: %d", rec.Code)
	}
	done, e := doneTask(t, st, app.Now())
	deliver := func(body []byte) string {
		r := testkit.Do(t, h, "POST", "/api/events/task-completed", "", body, "Content-Type", "application/cloudevents+json",
			"dapr-api-token", testkit.AppToken)
		if r.Code != http.StatusOK {
			t.Fatalf("delivery: %d %s", r.Code, r.Body)
		}
		return strings.TrimSpace(r.Body.String())
	}
	if got := deliver(structured(t, e)); got != `{"status":"SUCCESS","outcome":"created"}` || children(st, done.ID) != 1 {
		t.Fatalf("completion through Dapr: %s", got)
	}
	before := len(st.Events())
	// Dapr dead-letters a DROPped event itself, without the reason: the
	// route answers SUCCESS once it has dead-lettered the event, so there
	// is exactly one dead letter, with the reason.
	if got := deliver([]byte(`{"specversion":"1.0","id":"p1","source":"/x","type":"com.todo.task.completed","data":{}}`)); !strings.Contains(got, `"status":"SUCCESS","outcome":"dead-lettered"`) {
		t.Fatalf("poison through Dapr: %s", got)
	}
	if evts := st.Events()[before:]; len(evts) != 1 || evts[0].Type() != events.TypeDeadLettered {
		t.Fatalf("dead letters: %v", evts)
	}
	if r := testkit.Do(t, h, "POST", "/api/events/task-completed", "", structured(t, e), "Content-Type", "application/cloudevents+json",
		"dapr-api-token", "wrong-token-wrong-token"); r.Code != http.StatusUnauthorized {
		t.Fatalf("wrong app token: %d", r.Code)
	}
}

// A series whose next occurrence would fall past the last storable time
// (task.Latest, read in UTC) ends instead: no error, no occurrence, and no
// event anything downstream could fail to encode. The first one is the
// year-9999 wedge's schedule one day earlier: due 9999-12-30 22:00 UTC, its
// next slot is 9999-12-31 10:00 UTC.
func TestASeriesEndsWhereStoredTimesEnd(t *testing.T) {
	t.Parallel()
	now := app.Now()
	for _, c := range []struct{ zone, due, recurring, basis string }{
		{"Etc/GMT+12", "9999-12-30T10:00", "daily", "schedule"},
		{"Pacific/Kiritimati", "9999-12-31T13:00", "daily", "schedule"},
		{"UTC", "9999-06-01T00:00", "yearly", "schedule"},
		{"America/New_York", "9999-12-01T09:00", "monthly", "schedule"},
	} {
		title, basis := "edge", task.Basis(c.basis)
		parent, err := task.Draft{Title: &title, Timezone: &c.zone, DueDate: &c.due, RecurringType: &c.recurring,
			RecurrenceBasis: &basis}.Build(uuid.NewString(), testkit.User(), now)
		if err != nil {
			t.Fatalf("%s in %s: %v", c.due, c.zone, err)
		}
		parent.SetCompleted(true, now)
		child, evt, err := nextOccurrence(parent, *parent.CompletedAt, now)
		if err != nil || child != nil || evt != nil {
			t.Fatalf("%s %s in %s: next %v (%v), want the series to end", c.recurring, c.due, c.zone, child, err)
		}
	}
}

// The reconciler's pass is also the housekeeper's: it archives what was
// closed longer than ArchiveAfter ago, in batches, and purges only with
// ArchiveRetention set.
func TestReconcilerArchives(t *testing.T) {
	t.Parallel()
	st := storetest.New()
	old, _ := doneTask(t, st, app.Now().Add(-3*time.Hour))
	recent, _ := doneTask(t, st, app.Now())
	rc := &Reconciler{Completions: st, Recurrer: newRecurrer(st), Log: zerolog.Nop(), Grace: time.Minute, Retention: time.Hour}
	if _, err := rc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetTask(context.Background(), old.UserID, old.ID); got.ArchivedAt != nil {
		t.Fatal("archived without ArchiveAfter")
	}
	rc.ArchiveAfter = 2 * time.Hour
	if _, err := rc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetTask(context.Background(), old.UserID, old.ID); got.ArchivedAt == nil {
		t.Fatal("a task closed three hours ago was not archived after two")
	}
	if got, _ := st.GetTask(context.Background(), recent.UserID, recent.ID); got.ArchivedAt != nil {
		t.Fatal("a task closed just now was archived")
	}
	rc.ArchiveRetention = time.Nanosecond
	if _, err := rc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetTask(context.Background(), old.UserID, old.ID); err == nil {
		t.Fatal("the archived task was kept past ArchiveRetention")
	}
}

// TestAPushedEventContinuesItsTrace: a binary-mode push (as Knative's
// KafkaSource delivers) whose ce-traceparent names the completion's
// creation is handled in a span of that trace, its child; so is the
// transaction, below the handling.
func TestAPushedEventContinuesItsTrace(t *testing.T) {
	t.Parallel()
	st := storetest.New()
	spans := tracetest.NewSpanRecorder()
	rec := newRecurrer(st)
	rec.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test")
	h := serve(PushHandler{Recurrer: rec, Auth: config.PushAuthToken, Token: testkit.AppToken})
	_, e := doneTask(t, st, app.Now())
	const traceID, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r := testkit.Do(t, h, "POST", "/", testkit.AppToken, e.Data(), "Content-Type", "application/json",
		"Ce-Specversion", "1.0", "Ce-Id", e.ID(), "Ce-Type", e.Type(), "Ce-Source", e.Source(), "Ce-Subject", e.Subject(),
		"Ce-Partitionkey", testkit.Extension(e, events.ExtPartitionKey), "Ce-Time", e.Time().Format(time.RFC3339Nano),
		"Ce-Traceparent", "00-"+traceID+"-"+parent+"-01")
	if r.Code != http.StatusOK || !strings.Contains(r.Body.String(), "created") {
		t.Fatalf("push: %d %s", r.Code, r.Body.String())
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = s
	}
	process, tx := byName["process task-events"], byName["record next occurrence"]
	switch {
	case process == nil || process.SpanContext().TraceID().String() != traceID || process.Parent().SpanID().String() != parent:
		t.Fatalf("the handling is not the event's child: %v", process)
	case tx == nil || tx.Parent().SpanID() != process.SpanContext().SpanID():
		t.Fatalf("the transaction is not below the handling: %v", tx)
	}
}
