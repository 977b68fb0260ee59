// Package task holds the task entity and its rules. It depends only on the
// standard library and the shared error type.
package task

import (
	"encoding/json"
	"time"
	_ "time/tzdata" // time zones work even where the system has no zoneinfo

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/recurrence"
)

// Status of a task.
type Status string

// Statuses.
const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusDone       Status = "done"
	// StatusSkipped closes an occurrence of a series without doing it
	// (POST …/skip): not done, no completed_at, and the next occurrence
	// follows as after a completion.
	StatusSkipped Status = "skipped"
)

// Priority of a task.
type Priority string

// Priorities.
const (
	PriorityLow    Priority = "low"
	PriorityMedium Priority = "medium"
	PriorityHigh   Priority = "high"
)

// Recurring is how often a task repeats.
type Recurring string

// Recurrence frequencies.
const (
	RecurNone    Recurring = "none"
	RecurDaily   Recurring = "daily"
	RecurWeekly  Recurring = "weekly"
	RecurMonthly Recurring = "monthly"
	RecurYearly  Recurring = "yearly"
)

// Basis says what the next occurrence is computed from.
type Basis string

// Bases: from the completion time (the default) or from the series' schedule.
const (
	BasisCompletion Basis = "completion"
	BasisSchedule   Basis = "schedule"
)

// Task is one todo item. Times are instants; Timezone gives their local
// meaning for recurrence.
type Task struct {
	ID            string     `json:"id"`
	UserID        string     `json:"user_id"`
	Title         string     `json:"title"`
	Description   string     `json:"description"`
	Status        Status     `json:"status"`
	Priority      Priority   `json:"priority"`
	Tags          []string   `json:"tags"`
	DueDate       *time.Time `json:"due_date"`
	Timezone      string     `json:"timezone"`
	RecurringType Recurring  `json:"recurring_type"`
	// RecurrenceRule is the series' RFC 5545 rule in its canonical
	// spelling (nil: recurring_type alone says how it repeats).
	RecurrenceRule   *string    `json:"recurrence_rule"`
	RecurrenceBasis  Basis      `json:"recurrence_basis"`
	RecurringEndDate *time.Time `json:"recurring_end_date"`
	SeriesAnchor     *time.Time `json:"series_anchor"`
	// Occurrence is the task's number in a series whose rule has COUNT
	// (the first task is 1; slots a late completion skipped count).
	Occurrence   *int       `json:"occurrence"`
	ParentTaskID *string    `json:"parent_task_id"`
	CompletedAt  *time.Time `json:"completed_at"`
	SkippedAt    *time.Time `json:"skipped_at"`
	// Reminders are the task's reminders (at most MaxReminders), each with
	// its time and state.
	Reminders []Reminder `json:"reminders"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// ArchivedAt is when the task, closed longer than ARCHIVE_AFTER, left
	// the default lists (nil while it is in them; reopening clears it).
	ArchivedAt *time.Time `json:"archived_at"`
}

// Completed reports whether the task is done.
func (t Task) Completed() bool { return t.Status == StatusDone }

// Closed reports whether the task is done or skipped.
func (t Task) Closed() bool { return t.Status == StatusDone || t.Status == StatusSkipped }

// ClosedAt is when the task was completed or skipped (nil while open).
func (t Task) ClosedAt() *time.Time {
	if t.Status == StatusSkipped {
		return t.SkippedAt
	}
	return t.CompletedAt
}

// Recurs reports whether completing the task should create a next occurrence.
func (t Task) Recurs() bool { return t.RecurringType != "" && t.RecurringType != RecurNone }

// MarshalJSON adds the derived "completed" flag that frontends read.
func (t Task) MarshalJSON() ([]byte, error) {
	type plain Task
	if t.Tags == nil {
		t.Tags = []string{}
	}
	if t.Reminders == nil {
		t.Reminders = []Reminder{}
	}
	return json.Marshal(struct {
		plain
		Completed bool `json:"completed"`
	}{plain(t), t.Completed()})
}

// Location returns the task's time zone, UTC when unset or unknown.
func (t Task) Location() *time.Location {
	if loc, err := ValidLocation(t.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// Rule is how the task's series repeats, for the recurrence package: its
// frequency or RFC 5545 rule, basis, zone, anchor (the series' first due
// date, when it has one) and end (its end date, or the last time that can
// be stored).
func (t Task) Rule() (recurrence.Rule, error) {
	r := recurrence.Rule{Frequency: recurrence.Frequency(t.RecurringType), Schedule: t.RecurrenceBasis == BasisSchedule,
		Location: t.Location(), End: Latest}
	if t.SeriesAnchor != nil {
		r.Anchor = *t.SeriesAnchor
	} else if t.DueDate != nil {
		r.Anchor = *t.DueDate
	}
	if t.RecurringEndDate != nil && t.RecurringEndDate.Before(r.End) {
		r.End = *t.RecurringEndDate
	}
	if t.RecurrenceRule != nil {
		rr, err := recurrence.Parse(*t.RecurrenceRule)
		if err != nil {
			return recurrence.Rule{}, apperr.Wrap(apperr.Invalid, err, "the stored recurrence rule cannot be read")
		}
		r.RRule = &rr
	}
	return r, nil
}
