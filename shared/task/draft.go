package task

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/recurrence"
)

// Limits on user input.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 4000
	MaxTags           = 20
	MaxTagLen         = 50
)

// Draft is the client's request to create a task. Pointers distinguish
// "absent" from zero values; times stay strings until the time zone is known.
type Draft struct {
	Title            *string   `json:"title"`
	Description      *string   `json:"description"`
	Status           *Status   `json:"status"`
	Completed        *bool     `json:"completed"`
	Priority         *Priority `json:"priority"`
	Tags             []string  `json:"tags"`
	DueDate          *string   `json:"due_date"`
	Timezone         *string   `json:"timezone"`
	RecurringType    *string   `json:"recurring_type"`
	RecurrenceRule   *string   `json:"recurrence_rule"`
	RecurrenceBasis  *Basis    `json:"recurrence_basis"`
	RecurringEndDate *string   `json:"recurring_end_date"`
	ParentTaskID     *string   `json:"parent_task_id"`
	// Reminders replace the task's reminders (nil leaves them; [] clears).
	Reminders *[]ReminderInput `json:"reminders"`
}

// Build validates the draft and returns the task it describes, owned by
// userID, with the given id, created at now. The first invalid field is
// reported as an apperr Invalid error naming it.
func (d Draft) Build(id, userID string, now time.Time) (Task, error) {
	t := Task{ID: id, UserID: userID, Status: StatusPending, Priority: PriorityMedium,
		Timezone: "UTC", RecurringType: RecurNone, RecurrenceBasis: BasisCompletion,
		Tags: []string{}, CreatedAt: now, UpdatedAt: now}
	steps := []func(*Task) error{
		d.title, d.description, d.status, d.priority, d.tags, d.timezone,
		d.recurrence, d.dates, d.rule, d.parent, d.reminders,
	}
	for _, step := range steps {
		if err := step(&t); err != nil {
			return Task{}, err
		}
	}
	if t.Status == StatusSkipped {
		return Task{}, errSkipOnlyByRoute
	}
	t.settleReminders(nil, now)
	return t, nil
}

func (d Draft) title(t *Task) error {
	if d.Title == nil {
		return apperr.Field("title", "is required")
	}
	title := strings.TrimSpace(*d.Title)
	if err := checkText("title", title, MaxTitleLen); err != nil {
		return err
	}
	if title == "" {
		return apperr.Field("title", "must not be empty")
	}
	t.Title = title
	return nil
}

func (d Draft) description(t *Task) error {
	if d.Description == nil {
		return nil
	}
	desc := strings.TrimSpace(*d.Description)
	if err := checkText("description", desc, MaxDescriptionLen); err != nil {
		return err
	}
	t.Description = desc
	return nil
}

// enum reads an enum value as clients send it: any letter case, spaces
// around it ignored. Responses keep the one canonical spelling.
func enum(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// statusAliases are the other names clients use for a status.
var statusAliases = map[string]Status{"completed": StatusDone, "complete": StatusDone, "in-progress": StatusInProgress,
	"inprogress": StatusInProgress, "todo": StatusPending}

func (d Draft) status(t *Task) error {
	if d.Status != nil {
		s := Status(enum(string(*d.Status)))
		if alias, ok := statusAliases[string(s)]; ok {
			s = alias
		}
		switch s {
		case StatusPending, StatusInProgress, StatusDone, StatusSkipped:
			t.Status = s
		default:
			return apperr.Field("status", "must be one of pending, in_progress, done (or completed), skipped")
		}
	}
	if d.Completed != nil {
		if d.Status != nil && *d.Completed != (t.Status == StatusDone) {
			return apperr.Field("completed", "contradicts status")
		}
		if *d.Completed {
			t.Status = StatusDone
		}
	}
	if t.Status == StatusDone {
		at := t.CreatedAt
		t.CompletedAt = &at
	}
	return nil
}

// errSkipOnlyByRoute refuses a status of skipped anywhere but the skip
// route, which also creates the next occurrence.
var errSkipOnlyByRoute = apperr.Field("status", "skipped is set by POST /api/{user_id}/tasks/{id}/skip, which also makes the next occurrence")

func (d Draft) priority(t *Task) error {
	if d.Priority == nil {
		return nil
	}
	switch p := Priority(enum(string(*d.Priority))); p {
	case PriorityLow, PriorityMedium, PriorityHigh:
		t.Priority = p
		return nil
	}
	return apperr.Field("priority", "must be one of low, medium, high")
}

func (d Draft) tags(t *Task) error {
	if len(d.Tags) > MaxTags {
		return apperr.Field("tags", "at most %d tags", MaxTags)
	}
	seen := map[string]bool{}
	for _, raw := range d.Tags {
		tag := strings.TrimSpace(raw)
		if err := checkText("tags", tag, MaxTagLen); err != nil {
			return err
		}
		if tag == "" {
			return apperr.Field("tags", "must not contain empty tags")
		}
		if !seen[tag] {
			seen[tag] = true
			t.Tags = append(t.Tags, tag)
		}
	}
	return nil
}

func (d Draft) timezone(t *Task) error {
	if d.Timezone == nil || *d.Timezone == "" {
		return nil
	}
	name := *d.Timezone
	if _, err := ValidLocation(name); err != nil {
		return apperr.Field("timezone", "%q is not an IANA time zone name (such as Europe/Paris or UTC)", name)
	}
	t.Timezone = name
	return nil
}

func (d Draft) recurrence(t *Task) error {
	if d.RecurringType != nil && *d.RecurringType != "" {
		switch r := Recurring(enum(*d.RecurringType)); r {
		case RecurNone, RecurDaily, RecurWeekly, RecurMonthly, RecurYearly:
			t.RecurringType = r
		default:
			return apperr.Field("recurring_type", "must be one of none, daily, weekly, monthly, yearly")
		}
	}
	if d.RecurrenceRule != nil && strings.TrimSpace(*d.RecurrenceRule) != "" {
		r, err := recurrence.Parse(*d.RecurrenceRule)
		if err != nil {
			return apperr.Field("recurrence_rule", "%v", err)
		}
		freq := Recurring(r.Freq)
		if d.RecurringType != nil && *d.RecurringType != "" && t.RecurringType != freq {
			return apperr.Field("recurring_type", "is %s, but recurrence_rule repeats %s: send one of them, or both agreeing", t.RecurringType, freq)
		}
		canonical := r.String()
		t.RecurringType, t.RecurrenceRule = freq, &canonical
	}
	if d.RecurrenceBasis != nil {
		switch b := Basis(enum(string(*d.RecurrenceBasis))); b {
		case BasisCompletion, BasisSchedule:
			t.RecurrenceBasis = b
		default:
			return apperr.Field("recurrence_basis", "must be completion or schedule")
		}
	}
	return nil
}

func (d Draft) dates(t *Task) error {
	loc := t.Location()
	if d.DueDate != nil && *d.DueDate != "" {
		due, err := ParseTime(*d.DueDate, loc, false)
		if err != nil {
			return apperr.Field("due_date", "%v", err)
		}
		t.DueDate = &due
	}
	if d.RecurringEndDate != nil && *d.RecurringEndDate != "" {
		if !t.Recurs() {
			return apperr.Field("recurring_end_date", "only applies to recurring tasks")
		}
		end, err := ParseTime(*d.RecurringEndDate, loc, true)
		if err != nil {
			return apperr.Field("recurring_end_date", "%v", err)
		}
		if t.DueDate != nil && end.Before(*t.DueDate) {
			return apperr.Field("recurring_end_date", "must not be before due_date")
		}
		t.RecurringEndDate = &end
	}
	if t.RecurrenceBasis == BasisSchedule && t.Recurs() && t.DueDate == nil {
		return apperr.Field("due_date", "is required when recurrence_basis is schedule")
	}
	if t.Recurs() && t.DueDate != nil {
		anchor := *t.DueDate
		t.SeriesAnchor = &anchor
	}
	return nil
}

// rule checks a recurrence rule against the task it would repeat: its
// first occurrence (DTSTART) is the due date, or the creation when there
// is none (the completion basis restarts the rule at each completion).
func (d Draft) rule(t *Task) error {
	if t.RecurrenceRule == nil {
		return nil
	}
	r, err := recurrence.Parse(*t.RecurrenceRule)
	if err != nil {
		return apperr.Field("recurrence_rule", "%v", err)
	}
	start := t.CreatedAt
	if t.DueDate != nil {
		start = *t.DueDate
	}
	loc := t.Location()
	if !r.Until.IsZero() {
		until := r.Until
		if r.UntilDate {
			until = recurrence.At(r.Until.Year(), r.Until.Month(), r.Until.Day(), 23, 59, 59, 0, loc)
		}
		if until.Before(start) {
			return apperr.Field("recurrence_rule", "UNTIL is before the first due date")
		}
	}
	if err := (recurrence.Series{Rule: r, Start: start, Location: loc}).Check(); err != nil {
		return apperr.Field("recurrence_rule", "%v (for example BYMONTH=2;BYMONTHDAY=30, February 30th)", err)
	}
	if r.Count > 0 {
		first := 1
		t.Occurrence = &first
	}
	return nil
}

func (d Draft) parent(t *Task) error {
	if d.ParentTaskID == nil || *d.ParentTaskID == "" {
		return nil
	}
	if !IsUUID(*d.ParentTaskID) {
		return apperr.Field("parent_task_id", "must be a UUID")
	}
	p := strings.ToLower(*d.ParentTaskID)
	t.ParentTaskID = &p
	return nil
}

func checkText(field, s string, maxLen int) error {
	if !utf8.ValidString(s) {
		return apperr.Field(field, "must be valid UTF-8")
	}
	if strings.ContainsRune(s, 0) {
		return apperr.Field(field, "must not contain NUL characters")
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return apperr.Field(field, "must be at most %d characters (got %d)", maxLen, n)
	}
	return nil
}
