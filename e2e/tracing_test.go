package e2e_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/todoevents/todo/dev/harness"
	"github.com/todoevents/todo/dev/otlpsink"
	"github.com/todoevents/todo/shared/dapr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/testkit"
)

// tracedCompletion completes task id of user through base with a
// traceparent of the test's own (a span that is never exported, so the
// request's span is the first the functions export) and returns the trace
// id and that span's id.
func tracedCompletion(t *testing.T, base, user, id string) (traceID, root string) {
	t.Helper()
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	traceID, root = hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	h := http.Header{"Traceparent": {"00-" + traceID + "-" + root + "-01"}}
	code, body, err := callWith(base, "PATCH", "/api/"+user+"/tasks/"+id+"/complete", user, "", h)
	if err != nil || code != http.StatusOK {
		t.Fatalf("complete: %d %s %v", code, body, err)
	}
	return traceID, root
}

// completionTrace is what one completion's trace must hold, found.
type completionTrace struct {
	request, created, sent, process, occurrence, occurrenceSent otlpsink.Span
	// tx is recur-task's transaction: a child of process, or (a batch of
	// events from many traces) a span of its own linked to it.
	tx     otlpsink.Span
	linked bool
}

// checkCompletionTrace looks for, in trace traceID of sink, the spans of
// one completion, by parent and link: complete-task's request (child of
// root), the completion event's creation in the outbox (its child), the
// relay's send (child of the creation), recur-task's handling (below the
// send when pushed through a sidecar, whose spans come between; else a
// child of the creation, the context the event carries), its transaction,
// the occurrence event's creation (below the handling) and send. It says
// what is missing.
func checkCompletionTrace(sink *otlpsink.Sink, traceID, root string, pushed bool) (completionTrace, error) {
	spans := sink.Trace(traceID)
	byID := map[string]otlpsink.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	var c completionTrace
	find := func(what string, ok func(otlpsink.Span) bool) (otlpsink.Span, error) {
		for _, s := range spans {
			if ok(s) {
				return s, nil
			}
		}
		return otlpsink.Span{}, fmt.Errorf("no span of %s among the trace's %d", what, len(spans))
	}
	below := func(s otlpsink.Span, ancestor string) bool {
		for p := s.ParentID; p != ""; p = byID[p].ParentID {
			if p == ancestor {
				return true
			}
			if _, ok := byID[p]; !ok {
				return false
			}
		}
		return false
	}
	var err error
	if c.request, err = find("complete-task's request", func(s otlpsink.Span) bool {
		return s.Service == "complete-task" && s.Kind == tracepb.Span_SPAN_KIND_SERVER && s.ParentID == root &&
			s.Attrs["http.route"] == "/api/{user_id}/tasks/{id}/complete" && s.Name == "PATCH /api/{user_id}/tasks/{id}/complete"
	}); err != nil {
		return c, err
	}
	event := func(s otlpsink.Span, name, typ, parent string) bool {
		return s.Name == name && s.Attrs["cloudevents.event_type"] == typ && s.Kind == tracepb.Span_SPAN_KIND_PRODUCER &&
			s.Attrs["messaging.destination.name"] == events.TopicTaskEvents && s.ParentID == parent
	}
	if c.created, err = find("the completion event's creation", func(s otlpsink.Span) bool {
		return s.Service == "complete-task" && event(s, "create task-events", events.TypeTaskCompleted, c.request.SpanID)
	}); err != nil {
		return c, err
	}
	if c.sent, err = find("the relay's send of the completion event", func(s otlpsink.Span) bool {
		return event(s, "send task-events", events.TypeTaskCompleted, c.created.SpanID)
	}); err != nil {
		return c, err
	}
	if c.process, err = find("recur-task's handling of the completion", func(s otlpsink.Span) bool {
		if s.Service != "recur-task" || s.Name != "process task-events" || s.Kind != tracepb.Span_SPAN_KIND_CONSUMER {
			return false
		}
		if !pushed {
			return s.ParentID == c.created.SpanID
		}
		pusher, ok := byID[s.ParentID]
		return ok && pusher.Service == "recur-task" && pusher.Attrs["http.route"] == dapr.Route && below(s, c.sent.SpanID)
	}); err != nil {
		return c, err
	}
	if c.tx, err = find("recur-task's transaction", func(s otlpsink.Span) bool {
		return s.Service == "recur-task" && strings.HasPrefix(s.Name, "record next occurrence") && s.ParentID == c.process.SpanID
	}); err != nil {
		if c.tx, c.linked = linkedTo(sink, "record next occurrences", traceID, c.process.SpanID); !c.linked {
			return c, fmt.Errorf("recur-task's transaction is neither a child of its handling nor linked to it")
		}
	}
	// The occurrence's event is created in the handling's transaction: its
	// child (the transaction of a batch is the batch's, so the creation is
	// the handling's child).
	if c.occurrence, err = find("the occurrence event's creation", func(s otlpsink.Span) bool {
		return s.Service == "recur-task" && (event(s, "create task-events", events.TypeTaskCreated, c.process.SpanID) ||
			!c.linked && event(s, "create task-events", events.TypeTaskCreated, c.tx.SpanID))
	}); err != nil {
		return c, err
	}
	if c.occurrenceSent, err = find("the relay's send of the occurrence event", func(s otlpsink.Span) bool {
		return event(s, "send task-events", events.TypeTaskCreated, c.occurrence.SpanID)
	}); err != nil {
		return c, err
	}
	return c, nil
}

// linkedTo finds a span named name, in any trace, linked to span spanID of
// trace traceID.
func linkedTo(sink *otlpsink.Sink, name, traceID, spanID string) (otlpsink.Span, bool) {
	for _, s := range sink.Spans(func(s otlpsink.Span) bool { return s.Name == name }) {
		for _, l := range s.Links {
			if l.TraceID == traceID && l.SpanID == spanID {
				return s, true
			}
		}
	}
	return otlpsink.Span{}, false
}

// waitCompletionTrace waits for one completion's whole trace (spans are
// exported in batches, every 200 ms here), logs it as a tree, and returns
// it.
func waitCompletionTrace(t *testing.T, sink *otlpsink.Sink, traceID, root string, pushed bool) completionTrace {
	t.Helper()
	var (
		c   completionTrace
		err error
	)
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err = checkCompletionTrace(sink, traceID, root, pushed); err == nil {
			break
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			otlpsink.Tree(&b, sink.Trace(traceID))
			t.Fatalf("trace %s: %v; it holds:\n%s", traceID, err, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var b strings.Builder
	otlpsink.Tree(&b, sink.Trace(traceID))
	t.Logf("trace %s:\n%s", traceID, b.String())
	return c
}

// logged reports whether the log file of label in the test's directory
// has a line with trace_id traceID and span_id spanID.
func logged(t *testing.T, label, traceID, spanID string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sys.dir, label+".log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"trace_id":"`+traceID+`"`) && strings.Contains(line, `"span_id":"`+spanID+`"`) {
			return true
		}
	}
	return false
}

// TestCompletionTraceOnRealKafka follows one completion of a recurring task
// through the real binaries and broker in the spans they export over
// OTLP/HTTP: one trace from complete-task's request to the occurrence's
// publication, across the outbox, the relay, Kafka and recur-task.
func TestCompletionTraceOnRealKafka(t *testing.T) {
	items := seedRecurring(t, 1, 1)
	traceID, root := tracedCompletion(t, sys.api["complete-task"].URL(), items[0].user, items[0].id)
	waitChildren(t, ids(items), time.Minute)
	c := waitCompletionTrace(t, sys.traces, traceID, root, false)
	if !logged(t, "complete-task", traceID, c.request.SpanID) {
		t.Fatalf("complete-task's log has no line with the request's trace_id and span_id")
	}
	recurLogged := false
	for _, p := range sys.recur {
		recurLogged = recurLogged || logged(t, p.Label, traceID, c.process.SpanID)
	}
	if !recurLogged {
		t.Fatalf("recur-task's log has no line with the handling's trace_id and span_id")
	}
	how := "its child"
	if c.linked {
		how = "a batch's span linked to it"
	}
	report(t, "one trace of %d spans: complete-task's request → the event's creation → the relay's send and recur-task's handling → "+
		"the occurrence's creation → its send; recur-task's transaction %s; the log lines of both carry the trace_id and span_id; "+
		"completion to the occurrence's send %.1f ms", len(sys.traces.Trace(traceID)), how,
		float64(c.occurrenceSent.End.Sub(c.request.Start).Microseconds())/1000)
}

// TestTracingOffExportsNothing: a function without an endpoint exports
// nothing and writes no trace context into its events.
func TestTracingOffExportsNothing(t *testing.T) {
	user := testkit.User()
	env := map[string]string{}
	for k, v := range sys.env {
		if !strings.HasPrefix(k, "OTEL_") {
			env[k] = v
		}
	}
	p, err := harness.StartProc(filepath.Join(sys.bins, "create-task"), "create-task-untraced", env, sys.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	before := len(sys.traces.Spans(nil))
	code, body, err := callURL(p.URL(), "POST", "/api/"+user+"/tasks", user, `{"title":"untraced"}`)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	if n := testkit.Count(t, sys.db, `SELECT count(*) FROM outbox WHERE partition_key = $1 AND event ? 'traceparent'`, user); n != 0 {
		t.Fatalf("%d events of an untraced function carry a traceparent", n)
	}
	time.Sleep(time.Second)
	for _, s := range sys.traces.Spans(nil)[before:] {
		if s.Service == "create-task" && s.Kind == tracepb.Span_SPAN_KIND_SERVER && s.Attrs["http.route"] == "/api/{user_id}/tasks" {
			t.Fatalf("an untraced function's request was exported: %+v", s)
		}
	}
}
