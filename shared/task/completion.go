package task

import "time"

// SetCompleted moves the task to done (completed true) or back to pending
// (false) at now. It reports whether anything changed: completing a done task
// or reopening an open one is a no-op. Completing a skipped task makes it
// done.
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
	t.SkippedAt = nil
	t.UpdatedAt = now
	t.settleReminders(t.Reminders, now)
	return true
}

// Skip closes an open task as skipped at now. It reports false, changing
// nothing, when the task is already done or skipped.
func (t *Task) Skip(now time.Time) bool {
	if t.Closed() {
		return false
	}
	at := now
	t.Status, t.SkippedAt, t.CompletedAt, t.UpdatedAt = StatusSkipped, &at, nil, now
	t.settleReminders(t.Reminders, now)
	return true
}
