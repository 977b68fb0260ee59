package recurrence

import (
	"strconv"
	"strings"
	"time"
)

// Text says in English how a rule repeats, as a person would say it:
// "every 2 weeks on Monday, Wednesday and Friday, 10 times", "every month
// on the last weekday", "every year in November on the 4th Thursday".
func (r RRule) Text() string {
	unit := map[Frequency]string{Daily: "day", Weekly: "week", Monthly: "month", Yearly: "year"}[r.Freq]
	out := "every " + unit
	if r.Interval > 1 {
		out = "every " + strconv.Itoa(r.Interval) + " " + unit + "s"
	}
	if len(r.ByMonth) > 0 {
		names := make([]string, len(r.ByMonth))
		for i, m := range r.ByMonth {
			names[i] = time.Month(m).String()
		}
		out += " in " + and(names)
	}
	if on := r.on(); on != "" {
		out += " on " + on
	}
	switch {
	case r.Count == 1:
		out += ", once"
	case r.Count > 1:
		out += ", " + strconv.Itoa(r.Count) + " times"
	case !r.Until.IsZero() && r.UntilDate:
		out += ", until " + r.Until.Format("2 January 2006")
	case !r.Until.IsZero():
		out += ", until " + r.Until.UTC().Format("2 January 2006 15:04 UTC")
	}
	return out
}

// on names the days a rule chooses within its interval.
func (r RRule) on() string {
	var days []string
	for _, md := range readingOrder(r.ByMonthDay) {
		if md > 0 && len(r.ByDay) == 0 {
			days = append(days, "the "+nth(md))
		} else {
			days = append(days, "the "+nth(md)+" day")
		}
	}
	var weekdays []string
	for _, wd := range r.ByDay {
		name := wd.Day.String()
		if wd.N != 0 {
			name = "the " + nth(wd.N) + " " + name
		}
		weekdays = append(weekdays, name)
	}
	if isWorkweek(r.ByDay) {
		weekdays = []string{"weekdays"}
	}
	switch {
	case len(r.BySetPos) > 0:
		var positions []string
		for _, p := range readingOrder(r.BySetPos) {
			positions = append(positions, "the "+nth(p))
		}
		set := and(append(weekdays, days...))
		if isWorkweek(r.ByDay) && len(days) == 0 {
			return and(positions) + " weekday"
		}
		return and(positions) + " of " + set
	case len(days) > 0 && len(weekdays) > 0:
		return and(weekdays) + " that " + map[bool]string{true: "is", false: "are"}[len(days) == 1] + " " + and(days)
	case len(days) > 0:
		return and(days)
	}
	return and(weekdays)
}

// readingOrder puts positions as they are said: from the start (1st,
// 2nd), then from the end (2nd last, last).
func readingOrder(ns []int) []int {
	var fwd, back []int
	for _, n := range ns {
		if n > 0 {
			fwd = append(fwd, n)
		} else {
			back = append(back, n)
		}
	}
	return append(fwd, back...)
}

func isWorkweek(ds []WeekdayNum) bool {
	if len(ds) != 5 {
		return false
	}
	for i, d := range ds {
		if d.N != 0 || d.Day != time.Weekday(i+1) {
			return false
		}
	}
	return true
}

// nth is 1st, 2nd, 3rd, … and last, 2nd last, … for negative positions.
func nth(n int) string {
	if n == -1 {
		return "last"
	}
	if n < 0 {
		return nth(-n) + " last"
	}
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// and joins "a", "a and b", "a, b and c".
func and(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
