package recurrence

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RRule is an RFC 5545 recurrence rule, the part of it tasks use: FREQ
// (DAILY to YEARLY), INTERVAL, BYMONTH, BYMONTHDAY, BYDAY (with ordinals
// under MONTHLY and YEARLY), BYSETPOS, COUNT or UNTIL, and WKST. Its lists
// are sorted and without repeats; Parse makes one, String writes it back in
// one canonical spelling.
type RRule struct {
	Freq     Frequency
	Interval int // 1 or more
	// ByMonth holds months 1–12; ByMonthDay days 1–31 or -31–-1 (from the
	// month's end); ByDay weekdays, each every one (N 0) or the N-th of the
	// month or year (negative from its end); BySetPos positions in each
	// interval's set (negative from its end).
	ByMonth    []int
	ByMonthDay []int
	ByDay      []WeekdayNum
	BySetPos   []int
	// Count is how many occurrences the series has, the first task
	// included (0: no bound). Until, when not zero, is the last instant an
	// occurrence may have; UntilDate says it was given as a date, meaning
	// every occurrence on that day of the series' time zone or before.
	Count     int
	Until     time.Time
	UntilDate bool
	Wkst      time.Weekday
}

// WeekdayNum is a BYDAY value: Day, every one when N is 0, else the N-th
// (from the end when negative) of the month or year.
type WeekdayNum struct {
	Day time.Weekday
	N   int
}

// Limits of what a rule may ask for (what no task needs, and what would
// make evaluation slow).
const (
	MaxInterval = 1000
	MaxCount    = 10000
	MaxRuleLen  = 512
)

// RuleError says which part of a rule is wrong and why.
type RuleError struct {
	Part, Reason string
}

func (e *RuleError) Error() string {
	if e.Part == "" {
		return e.Reason
	}
	return e.Part + ": " + e.Reason
}

func bad(part, format string, args ...any) error {
	return &RuleError{Part: part, Reason: fmt.Sprintf(format, args...)}
}

var weekdays = map[string]time.Weekday{"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday,
	"WE": time.Wednesday, "TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday}

var weekdayNames = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// supported lists the parts Parse reads, in canonical order.
var supported = []string{"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"}

// Parse reads an RFC 5545 RRULE value ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
// with or without an "RRULE:" prefix, names and values in any letter
// case). Anything outside the supported parts, malformed, out of range or
// contradictory is a *RuleError naming the part.
func Parse(s string) (RRule, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxRuleLen {
		return RRule{}, bad("", "is longer than %d characters", MaxRuleLen)
	}
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	if s == "" {
		return RRule{}, bad("", "is empty (for example FREQ=WEEKLY;BYDAY=MO,WE,FR)")
	}
	r := RRule{Interval: 1, Wkst: time.Monday}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		name = strings.ToUpper(strings.TrimSpace(name))
		value = strings.ToUpper(strings.TrimSpace(value))
		switch {
		case !ok || name == "":
			return RRule{}, bad("", "%q is not a NAME=VALUE part", part)
		case !slices.Contains(supported, name):
			return RRule{}, bad(name, "is not supported (a rule may use %s)", strings.Join(supported, ", "))
		case seen[name]:
			return RRule{}, bad(name, "is given twice")
		case value == "":
			return RRule{}, bad(name, "has no value")
		}
		seen[name] = true
		if err := r.set(name, value); err != nil {
			return RRule{}, err
		}
	}
	if r.Freq == "" {
		return RRule{}, bad("FREQ", "is required (DAILY, WEEKLY, MONTHLY or YEARLY)")
	}
	return r, r.check()
}

// set reads one part's value.
func (r *RRule) set(name, value string) error {
	var err error
	switch name {
	case "FREQ":
		switch Frequency(strings.ToLower(value)) {
		case Daily, Weekly, Monthly, Yearly:
			r.Freq = Frequency(strings.ToLower(value))
		default:
			return bad(name, "must be DAILY, WEEKLY, MONTHLY or YEARLY, not %s", value)
		}
	case "INTERVAL":
		r.Interval, err = number(name, value, 1, MaxInterval)
	case "COUNT":
		r.Count, err = number(name, value, 1, MaxCount)
	case "UNTIL":
		r.Until, r.UntilDate, err = until(value)
	case "WKST":
		wd, ok := weekdays[value]
		if !ok {
			return bad(name, "must be one of MO, TU, WE, TH, FR, SA, SU")
		}
		r.Wkst = wd
	case "BYMONTH":
		r.ByMonth, err = numbers(name, value, 1, 12, false)
	case "BYMONTHDAY":
		r.ByMonthDay, err = numbers(name, value, 1, 31, true)
	case "BYSETPOS":
		r.BySetPos, err = numbers(name, value, 1, 366, true)
	case "BYDAY":
		r.ByDay, err = byDay(value)
	}
	return err
}

// check refuses what the parts say together that no rule may say.
func (r RRule) check() error {
	ordinal, plain := false, false
	for _, wd := range r.ByDay {
		if wd.N != 0 {
			ordinal = true
		} else {
			plain = true
		}
		if wd.N != 0 && r.Freq == Monthly && (wd.N > 5 || wd.N < -5) {
			return bad("BYDAY", "%s: a month has at most 5 of a weekday", wd)
		}
	}
	switch {
	case r.Count > 0 && !r.Until.IsZero():
		return bad("COUNT", "and UNTIL cannot both be given")
	case ordinal && r.Freq != Monthly && r.Freq != Yearly:
		return bad("BYDAY", "ordinals such as 1MO or -1FR need FREQ=MONTHLY or FREQ=YEARLY")
	case ordinal && plain:
		return bad("BYDAY", "mixes weekdays with and without an ordinal (such as MO,-1FR), which implementations read differently; use one kind")
	case len(r.ByMonthDay) > 0 && r.Freq == Weekly:
		return bad("BYMONTHDAY", "cannot be used with FREQ=WEEKLY")
	case len(r.BySetPos) > 0 && len(r.ByDay) == 0 && len(r.ByMonthDay) == 0 && len(r.ByMonth) == 0:
		return bad("BYSETPOS", "needs BYDAY, BYMONTHDAY or BYMONTH to choose from")
	}
	return nil
}

func number(part, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || strings.HasPrefix(v, "+") {
		return 0, bad(part, "%q is not a whole number", v)
	}
	if n < lo || n > hi {
		return 0, bad(part, "%d is out of range (%d to %d)", n, lo, hi)
	}
	return n, nil
}

// numbers reads a list; signed allows -hi..-1 besides lo..hi (never 0).
func numbers(part, v string, lo, hi int, signed bool) ([]int, error) {
	var out []int
	for _, item := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimPrefix(item, "+"))
		switch {
		case err != nil || item == "" || strings.HasPrefix(item, "+-"):
			return nil, bad(part, "%q is not a whole number", item)
		case n >= lo && n <= hi, signed && n <= -lo && n >= -hi:
		default:
			rng := fmt.Sprintf("%d to %d", lo, hi)
			if signed {
				rng += fmt.Sprintf(", or -%d to -%d from the end", hi, lo)
			}
			return nil, bad(part, "%d is out of range (%s)", n, rng)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func byDay(v string) ([]WeekdayNum, error) {
	var out []WeekdayNum
	for _, item := range strings.Split(v, ",") {
		if len(item) < 2 {
			return nil, bad("BYDAY", "%q is not a weekday such as MO, 2TU or -1FR", item)
		}
		wd, ok := weekdays[item[len(item)-2:]]
		if !ok {
			return nil, bad("BYDAY", "%q is not a weekday such as MO, 2TU or -1FR", item)
		}
		n := 0
		if num := item[:len(item)-2]; num != "" {
			var err error
			if n, err = strconv.Atoi(strings.TrimPrefix(num, "+")); err != nil || strings.HasPrefix(num, "+-") {
				return nil, bad("BYDAY", "%q is not a weekday such as MO, 2TU or -1FR", item)
			}
			if n == 0 || n > 53 || n < -53 {
				return nil, bad("BYDAY", "%q: the ordinal must be 1 to 53 or -53 to -1", item)
			}
		}
		out = append(out, WeekdayNum{Day: wd, N: n})
	}
	slices.SortFunc(out, func(a, b WeekdayNum) int {
		if a.Day != b.Day {
			return mondayFirst(a.Day) - mondayFirst(b.Day)
		}
		return a.N - b.N
	})
	return slices.Compact(out), nil
}

func mondayFirst(d time.Weekday) int { return (int(d) + 6) % 7 }

// until reads UNTIL: a date (YYYYMMDD), or a UTC date-time
// (YYYYMMDDTHHMMSSZ), as RFC 5545 asks of a rule whose start has a time
// zone.
func until(v string) (time.Time, bool, error) {
	if t, err := time.Parse("20060102", v); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse("20060102T150405Z", v); err == nil {
		return t, false, nil
	}
	if _, err := time.Parse("20060102T150405", v); err == nil {
		return time.Time{}, false, bad("UNTIL", "%s has no time zone: give a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)", v)
	}
	return time.Time{}, false, bad("UNTIL", "%q is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)", v)
}

func (w WeekdayNum) String() string {
	if w.N == 0 {
		return weekdayNames[w.Day]
	}
	return strconv.Itoa(w.N) + weekdayNames[w.Day]
}

// String is the rule in its canonical spelling: parts in the order FREQ,
// INTERVAL, COUNT, UNTIL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST,
// defaults (INTERVAL=1, WKST=MO) left out, lists sorted.
func (r RRule) String() string {
	parts := []string{"FREQ=" + strings.ToUpper(string(r.Freq))}
	if r.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(r.Interval))
	}
	if r.Count > 0 {
		parts = append(parts, "COUNT="+strconv.Itoa(r.Count))
	}
	if !r.Until.IsZero() {
		if r.UntilDate {
			parts = append(parts, "UNTIL="+r.Until.Format("20060102"))
		} else {
			parts = append(parts, "UNTIL="+r.Until.UTC().Format("20060102T150405Z"))
		}
	}
	list := func(name string, ns []int) {
		if len(ns) > 0 {
			s := make([]string, len(ns))
			for i, n := range ns {
				s[i] = strconv.Itoa(n)
			}
			parts = append(parts, name+"="+strings.Join(s, ","))
		}
	}
	list("BYMONTH", r.ByMonth)
	list("BYMONTHDAY", r.ByMonthDay)
	if len(r.ByDay) > 0 {
		s := make([]string, len(r.ByDay))
		for i, wd := range r.ByDay {
			s[i] = wd.String()
		}
		parts = append(parts, "BYDAY="+strings.Join(s, ","))
	}
	list("BYSETPOS", r.BySetPos)
	if r.Wkst != time.Monday {
		parts = append(parts, "WKST="+weekdayNames[r.Wkst])
	}
	return strings.Join(parts, ";")
}

// ErrNoOccurrence says a rule yields no date at all after its start (such
// as FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30).
var ErrNoOccurrence = errors.New("yields no date at all")
