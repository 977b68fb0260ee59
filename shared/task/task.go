// Package task holds the task entity and its rules. It depends only on the
// standard library and the shared error type.
package task

import (
	"encoding/json"
	"time"
	_ "time/tzdata" // time zones work even where the system has no zoneinfo
)

// Status of a task.
type Status string

// Statuses.
const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusDone       Status = "done"
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
	ID               string     `json:"id"`
	UserID           string     `json:"user_id"`
	Title            string     `json:"title"`
	Description      string     `json:"description"`
	Status           Status     `json:"status"`
	Priority         Priority   `json:"priority"`
	Tags             []string   `json:"tags"`
	DueDate          *time.Time `json:"due_date"`
	Timezone         string     `json:"timezone"`
	RecurringType    Recurring  `json:"recurring_type"`
	RecurrenceBasis  Basis      `json:"recurrence_basis"`
	RecurringEndDate *time.Time `json:"recurring_end_date"`
	SeriesAnchor     *time.Time `json:"series_anchor"`
	ParentTaskID     *string    `json:"parent_task_id"`
	CompletedAt      *time.Time `json:"completed_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Completed reports whether the task is done.
func (t Task) Completed() bool { return t.Status == StatusDone }

// Recurs reports whether completing the task should create a next occurrence.
func (t Task) Recurs() bool { return t.RecurringType != "" && t.RecurringType != RecurNone }

// MarshalJSON adds the derived "completed" flag that frontends read.
func (t Task) MarshalJSON() ([]byte, error) {
	type plain Task
	if t.Tags == nil {
		t.Tags = []string{}
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
