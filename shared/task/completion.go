package task

import "time"

// SetCompleted moves the task to done (completed true) or back to pending
// (false) at now. It reports whether anything changed: completing a done task
// or reopening an open one is a no-op.
func (t *Task) SetCompleted(completed bool, now time.Time) bool {
	if completed == t.Completed() {
		return false
	}
	if completed {
		t.Status = StatusDone
		at := now
		t.CompletedAt = &at
	} else {
		t.Status = StatusPending
		t.CompletedAt = nil
	}
	t.UpdatedAt = now
	return true
}
