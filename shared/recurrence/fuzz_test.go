package recurrence

import (
	"testing"
	"time"
)

// Any text: Parse never panics, and what it accepts it writes in a spelling
// that reads back as itself.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", "RRULE:FREQ=MONTHLY;BYDAY=-1FR",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;COUNT=3;UNTIL=20260101", "FREQ=MONTHLY;BYDAY=+-1MO",
		"FREQ=MONTHLY;BYMONTHDAY=-0", "FREQ=YEARLY;BYDAY=53MO;WKST=SU;UNTIL=99991231T235959Z", ";;=", "FREQ=DAILY;BYSETPOS=1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q is written %q, which reads back as %q (%v)", s, r.String(), again.String(), err)
		}
	})
}

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kolkata"}

// Any accepted rule from any start: the walk ends, looks at a bounded
// number of days, and gives occurrences in strictly increasing order,
// numbered one by one under COUNT, never past UNTIL.
func FuzzSeries(f *testing.F) {
	f.Add("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", int64(1767258000), uint8(1))
	f.Add("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=20", int64(1767258000), uint8(2))
	f.Add("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", int64(0), uint8(3))
	f.Add("FREQ=YEARLY;INTERVAL=1000;BYDAY=-1SU", int64(253370764800), uint8(4))
	f.Fuzz(func(t *testing.T, rule string, start int64, zone uint8) {
		r, err := Parse(rule)
		if err != nil || start < 0 || start > 253402214400 {
			return
		}
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		s := Series{Rule: r, Start: time.Unix(start, 0), Location: loc}
		if s.Check() != nil {
			return
		}
		w := s.compile()
		prev, n := s.Start, 1
		w.each(0, func(num, day int) bool {
			at := w.at(day)
			if num != n || (num > 1 && !at.After(prev)) {
				t.Fatalf("occurrence %d (numbered %d) at %s after %s", n, num, at, prev)
			}
			if !r.Until.IsZero() && !r.UntilDate && at.After(r.Until) && num > 1 {
				t.Fatalf("occurrence %s past UNTIL %s", at, r.Until)
			}
			prev, n = at, n+1
			return n <= 60
		})
		if w.steps > 400_000 {
			t.Fatalf("%d days looked at for 60 occurrences", w.steps)
		}
	})
}
