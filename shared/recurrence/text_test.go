package recurrence

import "testing"

func TestTextSaysItAsAPersonWould(t *testing.T) {
	t.Parallel()
	for rule, want := range map[string]string{
		"FREQ=DAILY":            "every day",
		"FREQ=DAILY;INTERVAL=3": "every 3 days",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;COUNT=10": "every 2 weeks on Monday, Wednesday and Friday, 10 times",
		"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR":                "every day on weekdays",
		"FREQ=MONTHLY;BYDAY=-1FR":                        "every month on the last Friday",
		"FREQ=MONTHLY;BYDAY=3FR":                         "every month on the 3rd Friday",
		"FREQ=MONTHLY;BYMONTHDAY=-1":                     "every month on the last day",
		"FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15":          "every 3 months on the 15th",
		"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1":  "every month on the last weekday",
		"FREQ=YEARLY;BYMONTH=11;BYDAY=4TH":               "every year in November on the 4th Thursday",
		"FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13":            "every month on Friday that is the 13th day",
		"FREQ=YEARLY;COUNT=1":                            "every year, once",
		"FREQ=WEEKLY;UNTIL=20261231":                     "every week, until 31 December 2026",
		"FREQ=MONTHLY;BYMONTHDAY=1,15,-1;BYSETPOS=2":     "every month on the 2nd of the 1st, the 15th and the last day",
		"FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU":            "every year in March and October on the last Sunday",
		"FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1,-1":         "every month on the 1st and the last of Saturday and Sunday",
		"FREQ=DAILY;UNTIL=20261231T120000Z;BYMONTH=1":    "every day in January, until 31 December 2026 12:00 UTC",
		"FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=22;COUNT=2": "every 12 months on the 22nd, 2 times",
	} {
		if got := mustRule(t, rule).Text(); got != want {
			t.Errorf("%s: %q, want %q", rule, got, want)
		}
	}
}
