package task

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

// Change says what an edit did to a task.
type Change string

// Changes an edit can make.
const (
	Unchanged Change = ""          // nothing to store
	Updated   Change = "updated"   // fields changed, or the task was reopened
	Completed Change = "completed" // the task became done
)

// Apply returns t changed by the edit d at now. The fields d sets are
// validated as for a new task (an empty due or end date clears it); the
// ones it leaves nil stay. With full (a PUT) the title is required. A status
// of done (or completed: true) completes the task exactly as completing it
// does; any other status reopens it. The series anchor moves only when the
// due date or the recurrence changes. parent_task_id cannot be changed.
func (d Draft) Apply(t Task, now time.Time, full bool) (Task, Change, error) {
	if d.ParentTaskID != nil {
		return Task{}, Unchanged, apperr.Field("parent_task_id", "cannot be changed")
	}
	if full && d.Title == nil {
		return Task{}, Unchanged, apperr.Field("title", "is required")
	}
	merged := d.over(t)
	next, err := merged.Build(t.ID, t.UserID, t.CreatedAt)
	if err != nil {
		return Task{}, Unchanged, err
	}
	next.ParentTaskID, next.Status, next.CompletedAt, next.SkippedAt, next.UpdatedAt = t.ParentTaskID, t.Status,
		t.CompletedAt, t.SkippedAt, t.UpdatedAt
	if sameTime(next.DueDate, t.DueDate) && next.RecurringType == t.RecurringType && next.RecurrenceBasis == t.RecurrenceBasis &&
		sameText(next.RecurrenceRule, t.RecurrenceRule) {
		// The same series: its anchor and this task's number in it stay.
		next.SeriesAnchor, next.Occurrence = t.SeriesAnchor, t.Occurrence
	}
	change := Unchanged
	if d.Status != nil || d.Completed != nil {
		var target Task
		if err := (Draft{Status: d.Status, Completed: d.Completed}).status(&target); err != nil {
			return Task{}, Unchanged, err
		}
		switch {
		case target.Status != "":
		case d.Completed != nil && !*d.Completed && next.Completed():
			target.Status = StatusPending // completed: false reopens
		default:
			target.Status = next.Status
		}
		switch target.Status {
		case StatusSkipped:
			if next.Status != StatusSkipped {
				return Task{}, Unchanged, errSkipOnlyByRoute
			}
		case StatusDone:
			if next.SetCompleted(true, now) {
				change = Completed
			}
		default: // open again, or still
			next.SetCompleted(false, now)
			next.Status, next.SkippedAt = target.Status, nil
		}
	}
	next.settleReminders(t.Reminders, now)
	if change == Unchanged && !same(next, t) {
		change = Updated
	}
	if change != Unchanged {
		next.UpdatedAt = now
	}
	return next, change, nil
}

// over is d with the fields it leaves nil taken from t. A recurring_type
// sent without a rule replaces the task's rule by that plain frequency,
// unless it is the rule's own (a client that knows only recurring_type
// sending it back unchanged keeps the rule).
func (d Draft) over(t Task) Draft {
	m := Draft{Title: d.Title, Description: d.Description, Priority: d.Priority, Tags: d.Tags, DueDate: d.DueDate,
		Timezone: d.Timezone, RecurringType: d.RecurringType, RecurrenceRule: d.RecurrenceRule,
		RecurrenceBasis: d.RecurrenceBasis, RecurringEndDate: d.RecurringEndDate, Reminders: d.Reminders}
	if m.Reminders == nil {
		m.Reminders = inputs(t.Reminders)
	}
	if m.RecurrenceRule == nil && (d.RecurringType == nil || Recurring(enum(*d.RecurringType)) == t.RecurringType) {
		m.RecurrenceRule = t.RecurrenceRule
	}
	if m.Title == nil {
		m.Title = &t.Title
	}
	if m.Description == nil {
		m.Description = &t.Description
	}
	if m.Priority == nil {
		m.Priority = &t.Priority
	}
	if m.Tags == nil {
		m.Tags = t.Tags
	}
	if m.Timezone == nil {
		m.Timezone = &t.Timezone
	}
	if m.RecurringType == nil && (d.RecurrenceRule == nil || strings.TrimSpace(*d.RecurrenceRule) == "") {
		r := string(t.RecurringType) // (a new rule brings its own)
		m.RecurringType = &r
	}
	if m.RecurrenceBasis == nil {
		m.RecurrenceBasis = &t.RecurrenceBasis
	}
	if m.DueDate == nil && t.DueDate != nil {
		s := t.DueDate.Format(time.RFC3339Nano)
		m.DueDate = &s
	}
	if m.RecurringEndDate == nil && t.RecurringEndDate != nil && (d.RecurringType == nil || enum(*d.RecurringType) != string(RecurNone)) {
		s := t.RecurringEndDate.Format(time.RFC3339Nano)
		m.RecurringEndDate = &s
	}
	return m
}

func sameText(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// same reports whether a and b hold the same values.
func same(a, b Task) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// ETag is the version of t a client can send back in If-Match.
func (t Task) ETag() string {
	return `"` + strconv.FormatInt(t.UpdatedAt.UnixMicro(), 36) + `"`
}

// CheckVersion compares an If-Match header with t's version: empty or "*"
// accepts any version; another version than t's is a StaleVersion error.
func (t Task) CheckVersion(ifMatch string) error {
	if ifMatch == "" || ifMatch == "*" || ifMatch == t.ETag() {
		return nil
	}
	return apperr.New(apperr.StaleVersion, "task %s changed since version %s (now %s)", t.ID, ifMatch, t.ETag())
}
