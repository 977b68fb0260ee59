package recurrence

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCanonicalSpelling(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR":          "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
		"rrule:freq=weekly;byday=fr,mo,we,mo;interval=2": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
		" RRULE:FREQ=DAILY;INTERVAL=1 ":                  "FREQ=DAILY",
		"FREQ=MONTHLY;BYDAY=-1FR":                        "FREQ=MONTHLY;BYDAY=-1FR",
		"FREQ=MONTHLY;BYDAY=+1MO,-1MO":                   "FREQ=MONTHLY;BYDAY=-1MO,1MO",
		"FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR":  "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
		"FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;WKST=MO":       "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
		"FREQ=WEEKLY;WKST=SU;COUNT=10":                   "FREQ=WEEKLY;COUNT=10;WKST=SU",
		"FREQ=DAILY;UNTIL=20261231":                      "FREQ=DAILY;UNTIL=20261231",
		"FREQ=DAILY;UNTIL=20261231T235959Z":              "FREQ=DAILY;UNTIL=20261231T235959Z",
		"FREQ=MONTHLY;BYMONTHDAY=15,1,-1,15":             "FREQ=MONTHLY;BYMONTHDAY=-1,1,15",
		"FREQ=YEARLY;BYMONTH=3,1,2":                      "FREQ=YEARLY;BYMONTH=1,2,3",
	} {
		r, err := Parse(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := r.String(); got != want {
			t.Errorf("%q is written %q, want %q", in, got, want)
		}
		again, err := Parse(r.String())
		if err != nil || again.String() != want {
			t.Errorf("%q does not read back: %v", want, err)
		}
	}
}

// Every rule outside what tasks support, or that cannot be, is refused
// naming the part that is wrong.
func TestParseRefusesNamingThePart(t *testing.T) {
	t.Parallel()
	for in, part := range map[string]string{
		"":                                               "",
		"RRULE:":                                         "",
		"INTERVAL=2":                                     "FREQ",
		"FREQ=HOURLY":                                    "FREQ",
		"FREQ=SECONDLY":                                  "FREQ",
		"FREQ=DAILY;BYHOUR=9":                            "BYHOUR",
		"FREQ=YEARLY;BYWEEKNO=20":                        "BYWEEKNO",
		"FREQ=YEARLY;BYYEARDAY=100":                      "BYYEARDAY",
		"FREQ=DAILY;X-NAME=1":                            "X-NAME",
		"FREQ=DAILY;FREQ=WEEKLY":                         "FREQ",
		"FREQ=DAILY;INTERVAL=0":                          "INTERVAL",
		"FREQ=DAILY;INTERVAL=1001":                       "INTERVAL",
		"FREQ=DAILY;INTERVAL=two":                        "INTERVAL",
		"FREQ=DAILY;INTERVAL=":                           "INTERVAL",
		"FREQ=DAILY;COUNT=0":                             "COUNT",
		"FREQ=DAILY;COUNT=10001":                         "COUNT",
		"FREQ=DAILY;COUNT=5;UNTIL=20261231":              "COUNT",
		"FREQ=DAILY;UNTIL=2026-12-31":                    "UNTIL",
		"FREQ=DAILY;UNTIL=20261231T235959":               "UNTIL",
		"FREQ=DAILY;UNTIL=20261340":                      "UNTIL",
		"FREQ=YEARLY;BYMONTH=13":                         "BYMONTH",
		"FREQ=YEARLY;BYMONTH=0":                          "BYMONTH",
		"FREQ=YEARLY;BYMONTH=-1":                         "BYMONTH",
		"FREQ=MONTHLY;BYMONTHDAY=0":                      "BYMONTHDAY",
		"FREQ=MONTHLY;BYMONTHDAY=32":                     "BYMONTHDAY",
		"FREQ=MONTHLY;BYMONTHDAY=-32":                    "BYMONTHDAY",
		"FREQ=MONTHLY;BYMONTHDAY=1,,2":                   "BYMONTHDAY",
		"FREQ=WEEKLY;BYMONTHDAY=1":                       "BYMONTHDAY",
		"FREQ=WEEKLY;BYDAY=XX":                           "BYDAY",
		"FREQ=WEEKLY;BYDAY=1MO":                          "BYDAY",
		"FREQ=DAILY;BYDAY=-1FR":                          "BYDAY",
		"FREQ=MONTHLY;BYDAY=6MO":                         "BYDAY",
		"FREQ=YEARLY;BYDAY=54MO":                         "BYDAY",
		"FREQ=YEARLY;BYDAY=0MO":                          "BYDAY",
		"FREQ=MONTHLY;BYDAY=MO,-1FR":                     "BYDAY",
		"FREQ=MONTHLY;BYSETPOS=1":                        "BYSETPOS",
		"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0":               "BYSETPOS",
		"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367":             "BYSETPOS",
		"FREQ=WEEKLY;WKST=XX":                            "WKST",
		"FREQ=DAILY;;COUNT=2":                            "",
		"FREQ":                                           "",
		"FREQ=DAILY;" + strings.Repeat("BYMONTH=1;", 60): "",
	} {
		_, err := Parse(in)
		var re *RuleError
		if !errors.As(err, &re) || re.Part != part {
			t.Errorf("%q: %v, want an error naming %q", in, err, part)
		}
	}
}

// A rule that can never choose a day is refused by Check, however far it
// would have to look; and no rule, however contrived, makes a walk look at
// more than a few hundred thousand days.
func TestEvaluationIsBounded(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		rule  string
		empty bool
	}{
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", true},
		{"FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31", true},
		{"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,31", true},
		{"FREQ=DAILY;BYMONTHDAY=31;BYSETPOS=2", true},
		{"FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2", true},
		{"FREQ=YEARLY;BYDAY=MO;BYSETPOS=366", true},
		{"FREQ=YEARLY;BYDAY=53MO;BYMONTH=1", true},
		{"FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2;BYMONTHDAY=1,2,3", true},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", false},
		{"FREQ=DAILY;INTERVAL=997;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", true}, // none before the year 10000
		{"FREQ=DAILY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29", false},
		{"FREQ=WEEKLY;INTERVAL=1000;BYMONTH=2;BYDAY=SU", false},
		{"FREQ=YEARLY;INTERVAL=1000", false},
	} {
		r, err := Parse(c.rule)
		if err != nil {
			t.Fatal(err)
		}
		s := Series{Rule: r, Start: start, Location: time.UTC}
		if err := s.Check(); errors.Is(err, ErrNoOccurrence) != c.empty {
			t.Errorf("%s: Check says %v", c.rule, err)
		}
		for _, from := range []time.Time{start, time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)} {
			r.Count = MaxCount
			for _, rule := range []RRule{r, s.Rule} {
				w := Series{Rule: rule, Start: start, Location: time.UTC}.compile()
				w.each(0, func(n, day int) bool { return day < dayOf(from.Date()) })
				if w.steps > 400_000 {
					t.Errorf("%s (COUNT %d) up to %s: %d days looked at", c.rule, rule.Count, from.Format("2006"), w.steps)
				}
			}
		}
	}
}
