package task

import (
	"testing"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

func TestRulesOnCreate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	got, err := Draft{Title: str("x"), RecurrenceRule: str("RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=12"), DueDate: str("2026-12-25")}.Build("id", "u", now)
	if err != nil || *got.RecurrenceRule != "FREQ=MONTHLY;COUNT=12;BYDAY=-1FR" || got.RecurringType != RecurMonthly ||
		got.Occurrence == nil || *got.Occurrence != 1 || got.SeriesAnchor == nil {
		t.Fatalf("%+v %v", got, err)
	}
	if got, err := (Draft{Title: str("x"), RecurringType: str("Weekly"), RecurrenceRule: str("FREQ=WEEKLY;BYDAY=MO")}).Build("id", "u", now); err != nil ||
		got.Occurrence != nil {
		t.Fatalf("an agreeing recurring_type, no COUNT: %+v %v", got, err)
	}
	for name, c := range map[string]struct {
		d     Draft
		field string
	}{
		"a malformed rule":       {Draft{Title: str("x"), RecurrenceRule: str("FREQ=WEEKLY;BYDAY=XX")}, "recurrence_rule"},
		"a type the rule denies": {Draft{Title: str("x"), RecurringType: str("daily"), RecurrenceRule: str("FREQ=WEEKLY")}, "recurring_type"},
		"none with a rule":       {Draft{Title: str("x"), RecurringType: str("none"), RecurrenceRule: str("FREQ=WEEKLY")}, "recurring_type"},
		"no date at all":         {Draft{Title: str("x"), RecurrenceRule: str("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")}, "recurrence_rule"},
		"UNTIL before the start": {Draft{Title: str("x"), RecurrenceRule: str("FREQ=DAILY;UNTIL=20261201"), DueDate: str("2026-12-24")}, "recurrence_rule"},
		"created skipped":        {Draft{Title: str("x"), RecurringType: str("daily"), Status: (*Status)(str("skipped"))}, "status"},
	} {
		_, err := c.d.Build("id", "u", now)
		if e := apperr.As(err); e.Code != apperr.Invalid || e.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", name, err, c.field)
		}
	}
}

func TestRulesOnEdit(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	now := created.Add(time.Hour)
	base, err := Draft{Title: str("x"), RecurrenceRule: str("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5"), DueDate: str("2026-12-03T09:00:00Z"),
		RecurrenceBasis: (*Basis)(str("schedule"))}.Build("id", "u", created)
	if err != nil {
		t.Fatal(err)
	}
	child := base
	three := 3
	child.Occurrence = &three
	rule := func(t Task) string {
		if t.RecurrenceRule == nil {
			return ""
		}
		return *t.RecurrenceRule
	}
	for _, c := range []struct {
		name             string
		edit             Draft
		wantRule, wantRT string
		keepsSeries      bool
	}{
		{"the title only keeps the series and its number", Draft{Title: str("y")}, "FREQ=WEEKLY;COUNT=5;BYDAY=MO,TH", "weekly", true},
		{"its own recurring_type back keeps the rule", Draft{RecurringType: str("weekly")}, "FREQ=WEEKLY;COUNT=5;BYDAY=MO,TH", "weekly", true},
		{"another recurring_type replaces the rule", Draft{RecurringType: str("daily")}, "", "daily", false},
		{"a new rule brings its frequency", Draft{RecurrenceRule: str("FREQ=MONTHLY;BYMONTHDAY=3")}, "FREQ=MONTHLY;BYMONTHDAY=3", "monthly", false},
		{"an empty rule leaves the plain frequency", Draft{RecurrenceRule: str("")}, "", "weekly", false},
		{"none ends the series", Draft{RecurringType: str("none")}, "", "none", false},
	} {
		got, _, err := c.edit.Apply(child, now, false)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		kept := got.Occurrence != nil && *got.Occurrence == 3 && sameTime(got.SeriesAnchor, child.SeriesAnchor)
		if rule(got) != c.wantRule || string(got.RecurringType) != c.wantRT || kept != c.keepsSeries {
			t.Errorf("%s: rule %q, type %s, series kept %v", c.name, rule(got), got.RecurringType, kept)
		}
	}
	skipped := base
	skipped.Skip(now)
	if got, change, err := (Draft{Status: (*Status)(str("skipped"))}).Apply(skipped, now, false); err != nil || change != Unchanged ||
		got.Status != StatusSkipped {
		t.Fatalf("skipped again by PATCH: %v %v", change, err)
	}
	if _, _, err := (Draft{Status: (*Status)(str("skipped"))}).Apply(base, now, false); apperr.As(err).Field != "status" {
		t.Fatalf("skipping by PATCH: %v", err)
	}
	reopened, change, err := (Draft{Status: (*Status)(str("pending"))}).Apply(skipped, now, false)
	if err != nil || change != Updated || reopened.Status != StatusPending || reopened.SkippedAt != nil {
		t.Fatalf("reopening a skipped task: %+v %v %v", reopened, change, err)
	}
	if done, change, _ := (Draft{Completed: ptr(true)}).Apply(skipped, now, false); change != Completed || done.SkippedAt != nil || done.CompletedAt == nil {
		t.Fatalf("completing a skipped task: %+v %v", done, change)
	}
}

func ptr[T any](v T) *T { return &v }
