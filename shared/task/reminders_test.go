package task

import (
	"strings"
	"testing"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

// The durations are ISO 8601's own examples of the forms a reminder uses
// (PnW, PnD, PTnH, PTnM, PTnS and their combinations), spelled back in one
// canonical form.
func TestParseLead(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		d    time.Duration
		text string
	}{
		"PT15M": {15 * time.Minute, "PT15M"}, "pt15m": {15 * time.Minute, "PT15M"}, "P1D": {24 * time.Hour, "P1D"},
		"P1W": {7 * 24 * time.Hour, "P7D"}, "P1DT12H": {36 * time.Hour, "P1DT12H"}, "PT36H": {36 * time.Hour, "P1DT12H"},
		"PT0S": {0, "PT0S"}, "PT90S": {90 * time.Second, "PT1M30S"}, "P365D": {365 * 24 * time.Hour, "P365D"},
		"P1DT2H3M4S": {26*time.Hour + 3*time.Minute + 4*time.Second, "P1DT2H3M4S"},
	} {
		d, text, err := ParseLead(in)
		if err != nil || d != want.d || text != want.text {
			t.Errorf("ParseLead(%q) = %v %q %v, want %v %q", in, d, text, err, want.d, want.text)
		}
	}
	for in, why := range map[string]string{
		"-PT15M": "negative", "P1M": "fixed length", "P1Y": "fixed length", "15m": "ISO 8601", "P": "ISO 8601",
		"PT": "ISO 8601", "P1H": "ISO 8601", "PT1D": "ISO 8601", "P1DT": "without a time", "PT15M1H": "ISO 8601",
		"P366D": "at most", "P9999999999D": "ISO 8601", "P1.5D": "ISO 8601", "PT1HT1M": "ISO 8601", "": "ISO 8601",
	} {
		if _, _, err := ParseLead(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseLead(%q) = %v, want an error saying %q", in, err, why)
		}
	}
}

func reminders(in ...ReminderInput) *[]ReminderInput { return &in }

func TestReminderValidationNamesTheField(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	due := str("2027-03-10T09:00:00Z")
	six := make([]ReminderInput, 6)
	for i := range six {
		six[i].At = str(now.Add(time.Duration(i+1) * time.Hour).Format(time.RFC3339))
	}
	for _, c := range []struct {
		name  string
		draft Draft
		field string
	}{
		{"more than five", Draft{DueDate: due, Reminders: &six}, "reminders"},
		{"both", Draft{DueDate: due, Reminders: reminders(ReminderInput{Before: str("PT1H"), At: due})}, "reminders[0]"},
		{"neither", Draft{DueDate: due, Reminders: reminders(ReminderInput{})}, "reminders[0]"},
		{"negative", Draft{DueDate: due, Reminders: reminders(ReminderInput{Before: str("-PT1H")})}, "reminders[0].before"},
		{"malformed", Draft{DueDate: due, Reminders: reminders(ReminderInput{At: due}, ReminderInput{Before: str("1h")})}, "reminders[1].before"},
		{"no due date", Draft{Reminders: reminders(ReminderInput{Before: str("PT1H")})}, "reminders[0].before"},
		{"bad time", Draft{Reminders: reminders(ReminderInput{At: str("tomorrow")})}, "reminders[0].at"},
		{"before 1970", Draft{DueDate: str("1970-01-01T10:00:00Z"), Reminders: reminders(ReminderInput{Before: str("P1D")})}, "reminders[0]"},
		{"twice", Draft{DueDate: due, Reminders: reminders(ReminderInput{Before: str("P1D")}, ReminderInput{Before: str("PT24H")})}, "reminders[1]"},
	} {
		c.draft.Title = str("x")
		_, err := c.draft.Build("11111111-1111-1111-1111-111111111111", "u", now)
		var ae *apperr.Error
		if err == nil || !asAppErr(err, &ae) || ae.Field != c.field {
			t.Errorf("%s: %v, want an error on %s", c.name, err, c.field)
		}
	}
}

func asAppErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	*target = e
	return ok
}

func TestReminderLifecycle(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	tk, err := Draft{Title: str("pay rent"), DueDate: str("2027-03-10T09:00:00"), Timezone: str("Asia/Tokyo"),
		Reminders: reminders(ReminderInput{Before: str("P1D")}, ReminderInput{At: str("2027-03-05T12:00:00")})}.
		Build("11111111-1111-1111-1111-111111111111", "u", now)
	if err != nil {
		t.Fatal(err)
	}
	// Times without an offset are the task's zone's: 09:00 in Tokyo is 00:00 UTC.
	if got := tk.Reminders[0].RemindAt; !got.Equal(time.Date(2027, 3, 9, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("P1D before the due date: %v", got)
	}
	if got := tk.Reminders[1].RemindAt; !got.Equal(time.Date(2027, 3, 5, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("at 12:00 Tokyo: %v", got)
	}
	if next := tk.NextReminder(); next == nil || !next.Equal(tk.Reminders[1].RemindAt) {
		t.Errorf("next reminder %v", next)
	}
	// The absolute one fires on time; the other waits.
	fireAt := tk.Reminders[1].RemindAt.Add(time.Second)
	if fired, _ := tk.FireReminders(fireAt, 24*time.Hour); len(fired) != 1 || fired[0].Late || fired[0].Reminder.ID != tk.Reminders[1].ID {
		t.Fatalf("fired %+v", fired)
	}
	if again, _ := tk.FireReminders(fireAt, 24*time.Hour); tk.Reminders[1].State != ReminderSent || again != nil {
		t.Fatalf("a sent reminder fires again: %+v", tk.Reminders)
	}
	// An edit of the title keeps what was sent; moving the due date re-times the relative one only.
	edited, _, err := Draft{Title: str("pay the rent")}.Apply(tk, fireAt, false)
	if err != nil || edited.Reminders[1].State != ReminderSent || edited.Reminders[0].State != ReminderScheduled {
		t.Fatalf("title edit: %v %+v", err, edited.Reminders)
	}
	moved, _, err := Draft{DueDate: str("2027-03-20T09:00:00")}.Apply(edited, fireAt, false)
	if err != nil || !moved.Reminders[0].RemindAt.Equal(time.Date(2027, 3, 19, 0, 0, 0, 0, time.UTC)) ||
		moved.Reminders[1].State != ReminderSent {
		t.Fatalf("due date moved: %v %+v", err, moved.Reminders)
	}
	// Completing cancels what waits; reopening before its time schedules it again.
	done := moved
	done.SetCompleted(true, fireAt)
	if done.Reminders[0].State != ReminderCancelled || done.NextReminder() != nil {
		t.Fatalf("completed: %+v", done.Reminders)
	}
	reopened := done
	reopened.SetCompleted(false, fireAt)
	if reopened.Reminders[0].State != ReminderScheduled || reopened.Reminders[1].State != ReminderSent {
		t.Fatalf("reopened: %+v", reopened.Reminders)
	}
	// Reopened after its time: it stays cancelled (it was not due while open).
	late := done
	late.SetCompleted(false, time.Date(2027, 3, 25, 0, 0, 0, 0, time.UTC))
	if late.Reminders[0].State != ReminderCancelled {
		t.Fatalf("reopened late: %+v", late.Reminders)
	}
	skipped := moved
	skipped.Skip(fireAt)
	if skipped.Reminders[0].State != ReminderCancelled {
		t.Fatalf("skipped: %+v", skipped.Reminders)
	}
	// The next occurrence gets the relative reminder from its own due date.
	nextDue := time.Date(2027, 4, 20, 0, 0, 0, 0, time.UTC)
	child := Task{ID: "22222222-2222-2222-2222-222222222222", DueDate: &nextDue, Timezone: "Asia/Tokyo"}
	if err := moved.CarryReminders(&child, fireAt); err != nil || len(child.Reminders) != 1 ||
		!child.Reminders[0].RemindAt.Equal(nextDue.Add(-24*time.Hour)) || child.Reminders[0].State != ReminderScheduled ||
		child.Reminders[0].ID == moved.Reminders[0].ID {
		t.Fatalf("carried: %v %+v", err, child.Reminders)
	}
	// Sending the reminders back as answered keeps them.
	var echoed []ReminderInput
	for _, r := range moved.Reminders {
		in := ReminderInput{Before: r.Before, ID: &r.ID, State: (*string)(&r.State)}
		if r.At != nil {
			in.At = str(r.At.Format(time.RFC3339))
		}
		echoed = append(echoed, in)
	}
	back, change, err := Draft{Reminders: &echoed}.Apply(moved, fireAt, false)
	if err != nil || change != Unchanged || back.Reminders[1].State != ReminderSent {
		t.Fatalf("echoed: %v %q %+v", err, change, back.Reminders)
	}
}

func TestFireReminderLateOrMissed(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	tk := Task{Reminders: []Reminder{{ID: "a", RemindAt: at, State: ReminderScheduled},
		{ID: "b", RemindAt: at.Add(-30 * time.Hour), State: ReminderScheduled}}}
	fired, missed := tk.FireReminders(at.Add(2*time.Hour), 24*time.Hour)
	if len(fired) != 1 || missed != 1 || !fired[0].Late || tk.Reminders[1].State != ReminderMissed || tk.Reminders[1].SentAt != nil {
		t.Fatalf("fired %+v, reminders %+v", fired, tk.Reminders)
	}
}
