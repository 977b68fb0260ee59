package task

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDraft builds tasks from arbitrary create-task bodies: Build must never
// panic, and every task it accepts must satisfy the schema's rules.
func FuzzDraft(f *testing.F) {
	seeds := []string{
		`{"title":"Water the plants","recurring_type":"daily"}`,
		`{"title":"x","due_date":"2026-02-30","timezone":"Mars/Base"}`,
		`{"title":"x","recurring_type":"monthly","recurrence_basis":"schedule","due_date":"2026-01-31T09:00","timezone":"Europe/Berlin","recurring_end_date":"2026-12-31"}`,
		`{"title":" ","tags":["a","a",""],"priority":"urgent"}`,
		`{"title":"x","status":"done","completed":false}`,
		`{"title":"x","parent_task_id":"123e4567-e89b-12d3-a456-426614174000"}`,
		`{"title":"\u0000"}`,
		`{"title":"x","recurrence_rule":"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3","due_date":"9999-12-01T00:00","timezone":"Pacific/Kiritimati"}`,
		`{"title":"x","recurrence_rule":"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29","recurring_type":"yearly","recurrence_basis":"schedule","due_date":"2028-02-29"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var d Draft
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&d) != nil {
			return
		}
		tk, err := d.Build("123e4567-e89b-12d3-a456-426614174000", "u", now)
		if err != nil {
			return
		}
		n := utf8.RuneCountInString(tk.Title)
		switch {
		case n == 0 || n > MaxTitleLen || !utf8.ValidString(tk.Title):
			t.Fatalf("accepted title %q", tk.Title)
		case utf8.RuneCountInString(tk.Description) > MaxDescriptionLen:
			t.Fatal("accepted an over-long description")
		case len(tk.Tags) > MaxTags:
			t.Fatal("accepted too many tags")
		case tk.Completed() != (tk.CompletedAt != nil):
			t.Fatal("status and completed_at disagree")
		case tk.RecurringEndDate != nil && tk.DueDate != nil && tk.RecurringEndDate.Before(*tk.DueDate):
			t.Fatal("accepted an end date before the due date")
		case tk.RecurrenceBasis == BasisSchedule && tk.Recurs() && tk.DueDate == nil:
			t.Fatal("accepted a schedule without a due date")
		case tk.RecurrenceRule != nil && !tk.Recurs(), tk.Status == StatusSkipped:
			t.Fatalf("accepted %+v", tk)
		case tk.DueDate != nil && !InRange(*tk.DueDate), tk.RecurringEndDate != nil && !InRange(*tk.RecurringEndDate):
			t.Fatal("accepted a time outside the window")
		}
		if tk.RecurrenceRule != nil {
			if r, err := tk.Rule(); err != nil || r.RRule == nil || r.RRule.String() != *tk.RecurrenceRule {
				t.Fatalf("stored rule %q does not read back: %v", *tk.RecurrenceRule, err)
			}
		}
		if _, err := ValidLocation(tk.Timezone); err != nil {
			t.Fatalf("accepted time zone %q", tk.Timezone)
		}
	})
}
