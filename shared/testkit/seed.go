package testkit

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
)

// Seed stores the task draft describes for user, with its task.created
// event, as create-task would, and returns it.
func Seed(tb testing.TB, st *store.Store, user string, draft task.Draft) task.Task {
	tb.Helper()
	now := app.Now()
	t, err := draft.Build(uuid.NewString(), user, now)
	if err != nil {
		tb.Fatal(err)
	}
	evt, err := events.ForTask(events.TypeTaskCreated, "test", t, now)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateTask(context.Background(), t, evt); err != nil {
		tb.Fatal(err)
	}
	return t
}
