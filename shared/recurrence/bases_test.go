package recurrence

import (
	"testing"
	"time"
)

func mustRule(t *testing.T, s string) *RRule {
	t.Helper()
	r, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

// The two bases with a rule, as the issue and RFC 5545 describe them.
func TestRuleBases(t *testing.T) {
	t.Parallel()
	berlin, ny := mustLoad(t, "Europe/Berlin"), mustLoad(t, "America/New_York")
	at := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name         string
		rule         string
		schedule     bool
		loc          *time.Location
		anchor, due  string
		n            int
		closed, want string // want "" for none
		wantN        int
		end          string
	}{
		{"every 3 days, completed on Tuesday: Friday", "FREQ=DAILY;INTERVAL=3", false, berlin,
			"2026-03-03 09:00", "2026-03-03 09:00", 0, "2026-03-03 15:00", "2026-03-06 09:00", 0, ""},
		{"every 3 days, completed two days late: three days after that", "FREQ=DAILY;INTERVAL=3", false, berlin,
			"2026-03-03 09:00", "2026-03-03 09:00", 0, "2026-03-05 20:00", "2026-03-08 09:00", 0, ""},
		{"Mon/Wed/Fri, completed on Tuesday: Wednesday", "FREQ=WEEKLY;BYDAY=MO,WE,FR", false, berlin,
			"2026-01-05 18:00", "2026-01-05 18:00", 0, "2026-01-06 08:00", "2026-01-07 18:00", 0, ""},
		{"on the 15th, completed on the 20th: next month's 15th", "FREQ=MONTHLY;BYMONTHDAY=15", false, berlin,
			"2026-03-15 10:00", "2026-03-15 10:00", 0, "2026-03-20 10:00", "2026-04-15 10:00", 0, ""},
		{"completion basis under COUNT: numbers carry on", "FREQ=DAILY;COUNT=3", false, berlin,
			"2026-03-01 09:00", "2026-03-02 09:00", 2, "2026-03-02 10:00", "2026-03-03 09:00", 3, ""},
		{"completion basis: the last of COUNT has no next", "FREQ=DAILY;COUNT=3", false, berlin,
			"2026-03-01 09:00", "2026-03-03 09:00", 3, "2026-03-03 10:00", "", 0, ""},
		{"schedule, on time: the next slot", "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10", true, berlin,
			"2026-01-05 09:00", "2026-01-05 09:00", 1, "2026-01-05 08:00", "2026-01-07 09:00", 2, ""},
		{"schedule, late: slots already past are skipped and count as used", "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10", true, berlin,
			"2026-01-05 09:00", "2026-01-05 09:00", 1, "2026-01-08 12:00", "2026-01-09 09:00", 3, ""},
		{"schedule: no next past COUNT", "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=3", true, berlin,
			"2026-01-05 09:00", "2026-01-07 09:00", 2, "2026-01-10 12:00", "", 0, ""},
		{"schedule: UNTIL ends it", "FREQ=DAILY;UNTIL=20260110", true, berlin,
			"2026-01-05 09:00", "2026-01-10 09:00", 0, "2026-01-10 09:30", "", 0, ""},
		{"schedule: the end date ends it", "FREQ=DAILY", true, berlin,
			"2026-01-05 09:00", "2026-01-09 09:00", 0, "2026-01-09 09:30", "", 0, "2026-01-09 23:59"},
		{"last workday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", true, ny,
			"2026-01-30 17:00", "2026-01-30 17:00", 0, "2026-01-30 16:00", "2026-02-27 17:00", 0, ""},
		{"a daily 09:00 stays at 09:00 across DST", "FREQ=DAILY", true, ny,
			"2026-03-07 09:00", "2026-03-07 09:00", 0, "2026-03-07 09:10", "2026-03-08 09:00", 0, ""},
	}
	for _, c := range cases {
		r := Rule{Frequency: Frequency(mustRule(t, c.rule).Freq), Schedule: c.schedule, Location: c.loc,
			Anchor: at(c.loc, c.anchor), RRule: mustRule(t, c.rule)}
		if c.end != "" {
			r.End = at(c.loc, c.end)
		}
		got, ok := r.After(at(c.loc, c.due), c.n, at(c.loc, c.closed))
		switch {
		case c.want == "" && ok:
			t.Errorf("%s: next %s, want none", c.name, got.At.In(c.loc))
		case c.want != "" && (!ok || !got.At.Equal(at(c.loc, c.want)) || got.N != c.wantN):
			t.Errorf("%s: next %s (number %d, %v), want %s (%d)", c.name, got.At.In(c.loc), got.N, ok, c.want, c.wantN)
		}
	}
	// A wall time the clock skips moves forward by the gap.
	gap := Rule{Schedule: true, Location: ny, Anchor: at(ny, "2026-03-07 02:30"), RRule: mustRule(t, "FREQ=DAILY")}
	if got, _ := gap.After(at(ny, "2026-03-07 02:30"), 0, at(ny, "2026-03-07 03:00")); got.At.In(ny).Format("15:04 MST") != "03:30 EDT" {
		t.Errorf("02:30 on the night of the gap: %s", got.At.In(ny))
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, utc) // a Monday
	r := Rule{Schedule: true, Location: utc, Anchor: start, RRule: mustRule(t, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=10")}
	got := r.Preview(start, 1, 100)
	if len(got) != 9 || got[0].N != 2 || got[8].N != 10 || !got[0].At.Equal(time.Date(2026, 1, 7, 9, 0, 0, 0, utc)) ||
		!got[3].At.Equal(time.Date(2026, 1, 21, 9, 0, 0, 0, utc)) {
		t.Fatalf("every other week on Mon, Wed, Fri, 10 times: %v", got)
	}
	c := Rule{Location: utc, Anchor: start, RRule: mustRule(t, "FREQ=DAILY;INTERVAL=3")}
	if got := c.Preview(start, 0, 3); len(got) != 3 || !got[2].At.Equal(start.AddDate(0, 0, 9)) {
		t.Fatalf("every 3 days, each completed on time: %v", got)
	}
	plain := Rule{Frequency: Monthly, Schedule: true, Location: utc, Anchor: time.Date(2026, 1, 31, 9, 0, 0, 0, utc)}
	if got := plain.Preview(plain.Anchor, 0, 3); len(got) != 3 || got[0].At.Day() != 28 || got[1].At.Day() != 31 {
		t.Fatalf("plain monthly clamps without drifting: %v", got)
	}
}
