package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/testkit"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
	"github.com/todoevents/todo/shared/tracing"
)

// TestTracesCommand: spans a real exporter sends to `todo traces` come out
// as one tree per trace, once the trace is quiet.
func TestTracesCommand(t *testing.T) {
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testkit.SyncBuffer
	go func() { _ = traces(ctx, &out, addr, 300*time.Millisecond) }()
	testkit.Eventually(t, "the receiver", 10*time.Second, func() bool { return strings.Contains(out.String(), "receiving spans") })
	tr, err := tracing.Start(ctx, "http://"+addr+"/v1/traces", "unit")
	if err != nil {
		t.Fatal(err)
	}
	pctx, parent := tr.Tracer().Start(ctx, "PATCH /api/{user_id}/tasks/{id}/complete")
	_, child := tr.Tracer().Start(pctx, "create task-events")
	child.End()
	parent.End()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	id := parent.SpanContext().TraceID().String()
	testkit.Eventually(t, "the trace printed", 10*time.Second, func() bool { return strings.Contains(out.String(), "trace "+id+" (2 spans)") })
	tree := out.String()[strings.Index(out.String(), "trace "+id):]
	lines := strings.Split(tree, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "PATCH /api/{user_id}/tasks/{id}/complete") || !strings.HasPrefix(lines[2], "  create task-events") ||
		!strings.Contains(lines[1], "unit") {
		t.Fatalf("not the trace's tree:\n%s", tree)
	}
}
