package task

import (
	"testing"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

func TestApplyEdits(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := created.Add(time.Hour)
	base, err := Draft{Title: str("Run"), RecurringType: str("daily"), DueDate: str("2026-05-02T07:00:00Z"),
		Tags: []string{"health"}}.Build("id", "u", created)
	if err != nil {
		t.Fatal(err)
	}
	done := base
	done.SetCompleted(true, created)
	status := func(s string) *Status { v := Status(s); return &v }
	priority := func(s string) *Priority { v := Priority(s); return &v }
	yes, no := true, false
	cases := []struct {
		name   string
		from   Task
		edit   Draft
		full   bool
		change Change
		check  func(Task) bool
		field  string // the field an error names
	}{
		{"title only", base, Draft{Title: str(" Walk ")}, false, Updated, func(got Task) bool {
			return got.Title == "Walk" && got.Tags[0] == "health" && sameTime(got.SeriesAnchor, base.SeriesAnchor) && got.UpdatedAt.Equal(now)
		}, ""},
		{"nothing new", base, Draft{Title: str("Run")}, false, Unchanged, func(got Task) bool { return got.UpdatedAt.Equal(base.UpdatedAt) }, ""},
		{"status Completed completes", base, Draft{Status: status("Completed")}, false, Completed, func(got Task) bool {
			return got.Status == StatusDone && got.CompletedAt.Equal(now)
		}, ""},
		{"completed true completes", base, Draft{Completed: &yes}, false, Completed, func(got Task) bool { return got.Completed() }, ""},
		{"completed false reopens", done, Draft{Completed: &no}, false, Updated, func(got Task) bool {
			return got.Status == StatusPending && got.CompletedAt == nil
		}, ""},
		{"in progress reopens", done, Draft{Status: status("in_progress")}, false, Updated, func(got Task) bool {
			return got.Status == StatusInProgress && got.CompletedAt == nil
		}, ""},
		{"done again changes nothing", done, Draft{Status: status("done")}, false, Unchanged, func(got Task) bool {
			return got.CompletedAt.Equal(created)
		}, ""},
		{"a new due date moves the anchor", base, Draft{DueDate: str("2026-05-10T07:00:00Z")}, false, Updated, func(got Task) bool {
			return got.SeriesAnchor.Equal(*got.DueDate) && !got.SeriesAnchor.Equal(*base.SeriesAnchor)
		}, ""},
		{"clearing the due date", base, Draft{DueDate: str("")}, false, Updated, func(got Task) bool { return got.DueDate == nil }, ""},
		{"a full update needs a title", base, Draft{Description: str("x")}, true, Unchanged, nil, "title"},
		{"the parent cannot change", base, Draft{ParentTaskID: str("x")}, false, Unchanged, nil, "parent_task_id"},
		{"invalid priority", base, Draft{Priority: priority("urgent")}, false, Unchanged, nil, "priority"},
		{"contradiction", base, Draft{Status: status("pending"), Completed: &yes}, false, Unchanged, nil, "completed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, change, err := tc.edit.Apply(tc.from, now, tc.full)
			if tc.field != "" {
				if apperr.As(err).Field != tc.field {
					t.Fatalf("got %v, want an error naming %s", err, tc.field)
				}
				return
			}
			if err != nil || change != tc.change || !tc.check(got) {
				t.Fatalf("change %q (want %q), err %v, task %+v", change, tc.change, err, got)
			}
			if got.ID != tc.from.ID || !got.CreatedAt.Equal(tc.from.CreatedAt) {
				t.Fatalf("identity changed: %+v", got)
			}
		})
	}
}
