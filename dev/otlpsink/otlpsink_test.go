package otlpsink_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/rs/zerolog"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/todoevents/todo/dev/otlpsink"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/tracing"
)

func event(id string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("test")
	e.SetType("com.todo.task.completed")
	return e
}

// serve answers POST /api/{user_id}/things by creating an event under the
// request's span; it returns the event.
func serve(t *testing.T, tr *tracing.Tracing, log zerolog.Logger, header http.Header) cloudevents.Event {
	t.Helper()
	var got cloudevents.Event
	h := httpx.Serve(httpx.Middleware{Log: log, Tracing: tr}, httpx.Route{Method: http.MethodPost, Pattern: "/api/{user_id}/things",
		Handler: func(w http.ResponseWriter, r *http.Request) error {
			got = event("e1")
			tracing.Create(r.Context(), &got, "task-events")
			w.WriteHeader(http.StatusCreated)
			return nil
		}})
	req := httptest.NewRequest(http.MethodPost, "/api/u1/things", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d", rec.Code)
	}
	return got
}

// TestSpansReachTheSinkWithTheirStructure exports, through the real OTLP
// exporter, a request, an event's creation under it, the event's send,
// two handlings in one batch and the batch, and reads them back decoded:
// names, kinds, parents, links, the route, and the trace id in the log.
func TestSpansReachTheSinkWithTheirStructure(t *testing.T) {
	sink, err := otlpsink.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ctx := context.Background()
	tr, err := tracing.Start(ctx, sink.URL()+"/v1/traces", "unit")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(ctx)
	var logs strings.Builder
	evt := serve(t, tr, zerolog.New(&logs), http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	if !tracing.Traced(evt) {
		t.Fatal("the event carries no traceparent")
	}
	sctx, send := tracing.StartSend(ctx, tr.Tracer(), evt, "task-events", time.Now())
	send.End()
	other := event("e2")
	tracing.Create(sctx, &other, "task-events") // another trace's event would not be overwritten
	p1, s1 := tracing.StartProcess(ctx, tr.Tracer(), evt, "task-events")
	p2, s2 := tracing.StartProcess(ctx, tr.Tracer(), event("untraced"), "task-events")
	_, batch := tracing.StartBatch(tr.Tracer(), "record next occurrences", []context.Context{p1, p2})
	batch.End()
	s1.End()
	s2.End()
	if err := tr.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	spans := sink.Trace("0af7651916cd43dd8448eb211c80319c")
	byName := map[string]otlpsink.Span{}
	for _, s := range spans {
		if s.Attrs["cloudevents.event_id"] != "e2" {
			byName[s.Name] = s
		}
	}
	req, create, sent, proc := byName["POST /api/{user_id}/things"], byName["create task-events"], byName["send task-events"], byName["process task-events"]
	switch {
	case req.Kind != tracepb.Span_SPAN_KIND_SERVER || req.ParentID != "b7ad6b7169203331" || req.Attrs["http.route"] != "/api/{user_id}/things" || req.Service != "unit":
		t.Fatalf("request span: %+v", req)
	case create.Kind != tracepb.Span_SPAN_KIND_PRODUCER || create.ParentID != req.SpanID || create.Attrs["cloudevents.event_id"] != "e1":
		t.Fatalf("creation span: %+v", create)
	case sent.ParentID != create.SpanID || proc.ParentID != create.SpanID || proc.Kind != tracepb.Span_SPAN_KIND_CONSUMER:
		t.Fatalf("send %+v / process %+v", sent, proc)
	case !strings.Contains(logs.String(), `"trace_id":"0af7651916cd43dd8448eb211c80319c"`) || !strings.Contains(logs.String(), `"span_id":"`+req.SpanID+`"`):
		t.Fatalf("the request's log line has not its span: %s", logs.String())
	}
	if tp, _ := other.Extensions()[tracing.ExtTraceparent].(string); !strings.Contains(tp, "0af7651916cd43dd8448eb211c80319c") {
		t.Fatalf("an event created under the send is not in its trace: %v", other.Extensions())
	}
	batches := sink.Spans(func(s otlpsink.Span) bool { return s.Name == "record next occurrences" })
	if len(batches) != 1 || batches[0].ParentID != "" || len(batches[0].Links) != 2 || batches[0].Links[0].SpanID != proc.SpanID {
		t.Fatalf("the batch is not a root linked to both handlings: %+v", batches)
	}
}

// TestOffIsANoOp: without tracing, no span, no trace context in events,
// no ids in logs, even when the caller sends a traceparent.
func TestOffIsANoOp(t *testing.T) {
	var logs strings.Builder
	evt := serve(t, nil, zerolog.New(&logs), http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	if tracing.Traced(evt) || strings.Contains(logs.String(), "trace_id") {
		t.Fatalf("tracing off left traces: %v %s", evt.Extensions(), logs.String())
	}
	if _, span := tracing.StartSend(context.Background(), (&tracing.Tracing{}).Tracer(), evt, "t", time.Now()); span.SpanContext().IsValid() {
		t.Fatal("a send span for an untraced event")
	}
}
