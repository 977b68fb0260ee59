package events

import (
	"errors"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/todoevents/todo/shared/task"
)

func TestDecodeCompleted(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	valid := task.Task{ID: "123e4567-e89b-12d3-a456-426614174000", UserID: "u", Title: "t",
		RecurringType: task.RecurDaily, Status: task.StatusDone, CompletedAt: &now}
	good, err := ForTask(TypeTaskCompleted, "complete-task", valid, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCompleted(good)
	if err != nil || c.EventID != good.ID() || c.Data.TaskID != valid.ID || !c.Data.CompletedAt.Equal(now) ||
		c.Data.EventType != "task-completed" || good.Extensions()[ExtPartitionKey] != "u" {
		t.Fatalf("round trip: %+v %v", c, err)
	}
	mutate := func(f func(e *cloudevents.Event)) cloudevents.Event {
		e := good.Clone()
		f(&e)
		return e
	}
	skippedTask := valid
	skippedTask.Status, skippedTask.CompletedAt, skippedTask.SkippedAt = task.StatusSkipped, nil, &now
	skipped, _ := ForTask(TypeTaskSkipped, "skip-task", skippedTask, now)
	if c, err := DecodeCompleted(skipped); err != nil || !c.ClosedAt.Equal(now) || c.Data.EventType != "task-skipped" {
		t.Fatalf("a skip: %+v %v", c, err)
	}
	noSkippedAt := skipped.Clone()
	_ = noSkippedAt.SetData("application/json", map[string]any{"task_id": valid.ID, "user_id": "u", "completed_at": now})
	if _, err := DecodeCompleted(noSkippedAt); !errors.Is(err, ErrPoison) {
		t.Fatalf("a skip without skipped_at: %v", err)
	}
	created, _ := ForTask(TypeTaskCreated, "create-task", valid, now)
	if _, err := DecodeCompleted(created); !errors.Is(err, ErrNotForUs) {
		t.Fatalf("created event: %v, want ErrNotForUs", err)
	}
	poison := map[string]cloudevents.Event{
		"unknown type":  mutate(func(e *cloudevents.Event) { e.SetType("com.example.other") }),
		"no id":         mutate(func(e *cloudevents.Event) { e.SetID("") }),
		"xml data":      mutate(func(e *cloudevents.Event) { _ = e.SetData("application/xml", []byte("<a/>")) }),
		"data not JSON": mutate(func(e *cloudevents.Event) { e.DataEncoded = []byte("{oops") }),
		"bad task id": mutate(func(e *cloudevents.Event) {
			_ = e.SetData("application/json", map[string]any{"task_id": "1", "user_id": "u", "completed_at": now})
		}),
		"no user": mutate(func(e *cloudevents.Event) {
			_ = e.SetData("application/json", map[string]any{"task_id": valid.ID, "completed_at": now})
		}),
		"no completed_at": mutate(func(e *cloudevents.Event) {
			_ = e.SetData("application/json", map[string]any{"task_id": valid.ID, "user_id": "u"})
		}),
		"wrong field type": mutate(func(e *cloudevents.Event) { _ = e.SetData("application/json", map[string]any{"task_id": 7}) }),
	}
	for name, e := range poison {
		if _, err := DecodeCompleted(e); !errors.Is(err, ErrPoison) {
			t.Errorf("%s: %v, want ErrPoison", name, err)
		}
	}
}
