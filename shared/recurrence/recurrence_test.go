package recurrence

import (
	"testing"
	"time"
)

func mustLoad(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

func TestNext(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	berlin := mustLoad(t, "Europe/Berlin")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	in := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var zero time.Time
	cases := []struct {
		name      string
		rule      Rule
		due, done time.Time
		want      time.Time
		wantNone  bool
	}{
		{name: "daily from completion, no due date",
			rule: Rule{Frequency: Daily}, done: utc("2026-03-10T14:30:00Z"), want: utc("2026-03-11T14:30:00Z")},
		{name: "weekly from completion",
			rule: Rule{Frequency: Weekly}, done: utc("2026-03-10T14:30:00Z"), want: utc("2026-03-17T14:30:00Z")},
		{name: "monthly from completion",
			rule: Rule{Frequency: Monthly}, done: utc("2026-01-15T08:00:00Z"), want: utc("2026-02-15T08:00:00Z")},
		{name: "monthly from completion on the 31st clamps to February",
			rule: Rule{Frequency: Monthly}, done: utc("2026-01-31T08:00:00Z"), want: utc("2026-02-28T08:00:00Z")},
		{name: "monthly from completion keeps the anchor day after a clamped month",
			rule: Rule{Frequency: Monthly, Anchor: utc("2026-01-31T09:00:00Z")},
			due:  utc("2026-02-28T09:00:00Z"), done: utc("2026-02-28T18:00:00Z"), want: utc("2026-03-31T09:00:00Z")},
		{name: "monthly from completion off the series day follows the completion day",
			rule: Rule{Frequency: Monthly, Anchor: utc("2026-01-31T09:00:00Z")},
			due:  utc("2026-01-31T09:00:00Z"), done: utc("2026-02-10T18:00:00Z"), want: utc("2026-03-10T09:00:00Z")},
		{name: "daily from completion keeps the due time of day",
			rule: Rule{Frequency: Daily}, due: utc("2026-03-10T09:00:00Z"), done: utc("2026-03-10T17:45:00Z"),
			want: utc("2026-03-11T09:00:00Z")},
		{name: "daily in New York across spring-forward stays at 09:00 local",
			rule: Rule{Frequency: Daily, Location: ny}, due: in(ny, "2026-03-07 09:00"), done: in(ny, "2026-03-07 10:00"),
			want: in(ny, "2026-03-08 09:00")},
		{name: "schedule daily in New York across fall-back stays at 09:00 local",
			rule: Rule{Frequency: Daily, Schedule: true, Location: ny, Anchor: in(ny, "2026-10-01 09:00")},
			due:  in(ny, "2026-10-31 09:00"), done: in(ny, "2026-10-31 08:00"), want: in(ny, "2026-11-01 09:00")},
		{name: "schedule monthly on the 31st: Jan to Feb 28",
			rule: Rule{Frequency: Monthly, Schedule: true, Anchor: utc("2026-01-31T10:00:00Z")},
			due:  utc("2026-01-31T10:00:00Z"), done: utc("2026-01-31T09:00:00Z"), want: utc("2026-02-28T10:00:00Z")},
		{name: "schedule monthly on the 31st: Feb 28 to Mar 31, no drift",
			rule: Rule{Frequency: Monthly, Schedule: true, Anchor: utc("2026-01-31T10:00:00Z")},
			due:  utc("2026-02-28T10:00:00Z"), done: utc("2026-02-27T09:00:00Z"), want: utc("2026-03-31T10:00:00Z")},
		{name: "schedule monthly on the 31st: Mar 31 to Apr 30",
			rule: Rule{Frequency: Monthly, Schedule: true, Anchor: utc("2026-01-31T10:00:00Z")},
			due:  utc("2026-03-31T10:00:00Z"), done: utc("2026-03-31T09:00:00Z"), want: utc("2026-04-30T10:00:00Z")},
		{name: "schedule monthly on the 31st in a leap year: Feb 29",
			rule: Rule{Frequency: Monthly, Schedule: true, Anchor: utc("2028-01-31T10:00:00Z")},
			due:  utc("2028-01-31T10:00:00Z"), done: utc("2028-01-31T09:00:00Z"), want: utc("2028-02-29T10:00:00Z")},
		{name: "yearly Feb 29 clamps to Feb 28 in a common year",
			rule: Rule{Frequency: Yearly, Schedule: true, Anchor: utc("2028-02-29T10:00:00Z")},
			due:  utc("2028-02-29T10:00:00Z"), done: utc("2028-02-29T09:00:00Z"), want: utc("2029-02-28T10:00:00Z")},
		{name: "yearly Feb 29 returns to Feb 29 in the next leap year",
			rule: Rule{Frequency: Yearly, Schedule: true, Anchor: utc("2028-02-29T10:00:00Z")},
			due:  utc("2031-02-28T10:00:00Z"), done: utc("2031-02-28T09:00:00Z"), want: utc("2032-02-29T10:00:00Z")},
		{name: "schedule completed late skips missed slots: exactly one next, in the future",
			rule: Rule{Frequency: Daily, Schedule: true, Anchor: utc("2026-01-01T09:00:00Z")},
			due:  utc("2026-01-01T09:00:00Z"), done: utc("2026-01-05T12:00:00Z"), want: utc("2026-01-06T09:00:00Z")},
		{name: "schedule completed early keeps the next slot",
			rule: Rule{Frequency: Weekly, Schedule: true, Anchor: utc("2026-01-01T09:00:00Z")},
			due:  utc("2026-01-08T09:00:00Z"), done: utc("2026-01-02T12:00:00Z"), want: utc("2026-01-15T09:00:00Z")},
		{name: "schedule in Berlin across DST keeps local 07:30",
			rule: Rule{Frequency: Weekly, Schedule: true, Location: berlin, Anchor: in(berlin, "2026-03-22 07:30")},
			due:  in(berlin, "2026-03-22 07:30"), done: in(berlin, "2026-03-22 07:00"), want: in(berlin, "2026-03-29 07:30")},
		{name: "end date equal to the next due date is inclusive",
			rule: Rule{Frequency: Daily, End: utc("2026-03-11T09:00:00Z")},
			due:  utc("2026-03-10T09:00:00Z"), done: utc("2026-03-10T10:00:00Z"), want: utc("2026-03-11T09:00:00Z")},
		{name: "end date one second before the next due date stops the series",
			rule: Rule{Frequency: Daily, End: utc("2026-03-11T08:59:59Z")},
			due:  utc("2026-03-10T09:00:00Z"), done: utc("2026-03-10T10:00:00Z"), wantNone: true},
		{name: "no occurrence past year 9999",
			rule: Rule{Frequency: Yearly}, done: utc("9999-06-01T10:00:00Z"), wantNone: true},
		{name: "unknown frequency has no next", rule: Rule{Frequency: "hourly"}, done: utc("2026-03-10T10:00:00Z"), wantNone: true},
		{name: "schedule without any due date falls back to completion",
			rule: Rule{Frequency: Daily, Schedule: true}, due: zero, done: utc("2026-03-10T10:00:00Z"), want: utc("2026-03-11T10:00:00Z")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Next(tc.rule, tc.due, tc.done)
			if tc.wantNone {
				if ok {
					t.Fatalf("got %v, want no occurrence", got)
				}
				return
			}
			if !ok || !got.Equal(tc.want) {
				t.Fatalf("got %v (ok=%v), want %v", got, ok, tc.want)
			}
		})
	}
}

func TestScheduleAfterLongAbsenceIsBounded(t *testing.T) {
	t.Parallel()
	anchor := time.Date(1990, 1, 31, 9, 0, 0, 0, time.UTC)
	done := time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC)
	for _, f := range []Frequency{Daily, Weekly, Monthly, Yearly} {
		got, ok := Next(Rule{Frequency: f, Schedule: true, Anchor: anchor}, anchor, done)
		if !ok || !got.After(done) {
			t.Fatalf("%s: got %v ok=%v, want a slot after %v", f, got, ok, done)
		}
		if f == Monthly && (got.Day() != 31 || got.Month() != time.May) {
			t.Fatalf("monthly: got %v, want May 31", got)
		}
	}
}
