package recurrence

import (
	"slices"
	"time"
)

// Series is a rule anchored at its first occurrence (RFC 5545's DTSTART),
// read on the wall clock of Location: Start's reading there gives the
// date the rule counts from and the time of day of every occurrence.
// Start is always occurrence 1, whether or not the rule would choose its
// day; COUNT counts it.
type Series struct {
	Rule     RRule
	Start    time.Time
	Location *time.Location
	// Last, when not zero, is the last instant an occurrence may have (the
	// end of what can be stored); past it the series ends.
	Last time.Time
}

// cycle is how many days, weeks, months or years the calendar takes to
// repeat itself (the Gregorian cycle of 400 years is 146,097 days, exactly
// 20,871 weeks): a rule that chooses nothing in that many of its intervals
// after some point never chooses anything again.
var cycle = map[Frequency]int{Daily: 146097, Weekly: 20871, Monthly: 4800, Yearly: 400}

// walk is one evaluation of a series: the rule compiled into day masks,
// its start as a civil day and a time of day.
type walk struct {
	s        Series
	loc      *time.Location
	day0     int // the start's civil day
	y0       int
	m0       time.Month
	hh, mm   int
	ss, ns   int
	k        int // interval
	months   [13]bool
	anyMonth bool
	mdays    [32]bool // by day of month
	nmdays   [32]bool // by day counted from the month's end (1 = last)
	anyMday  bool
	wdays    [7]bool
	anyWday  bool
	nth      [7][]int // ordinals per weekday
	anyNth   bool
	setpos   []int
	weekFrom int // civil day of the week period 0 starts in (WKST on or before the start)
	periods  int // intervals in a calendar cycle
	steps    int // days and months looked at so far (the work a walk did)
}

func (s Series) compile() *walk {
	loc := Rule{Location: s.Location}.location()
	start := s.Start.In(loc)
	y, m, d := start.Date()
	w := &walk{s: s, loc: loc, day0: dayOf(y, m, d), y0: y, m0: m, hh: start.Hour(), mm: start.Minute(),
		ss: start.Second(), ns: start.Nanosecond(), k: max(1, s.Rule.Interval)}
	r := s.Rule
	for _, mo := range r.ByMonth {
		w.months[mo] = true
	}
	for _, md := range r.ByMonthDay {
		if md > 0 {
			w.mdays[md] = true
		} else {
			w.nmdays[-md] = true
		}
	}
	for _, wd := range r.ByDay {
		if wd.N == 0 {
			w.wdays[wd.Day] = true
			w.anyWday = true
		} else {
			w.nth[wd.Day] = append(w.nth[wd.Day], wd.N)
			w.anyNth = true
		}
	}
	w.anyMonth, w.anyMday = len(r.ByMonth) > 0, len(r.ByMonthDay) > 0
	// What a rule without its own choice of days takes from its start
	// (RFC 5545, and dateutil's reading of it).
	if len(r.ByMonthDay) == 0 && len(r.ByDay) == 0 {
		switch r.Freq {
		case Yearly:
			if !w.anyMonth {
				w.months[m], w.anyMonth = true, true
			}
			w.mdays[d], w.anyMday = true, true
		case Monthly:
			w.mdays[d], w.anyMday = true, true
		case Weekly:
			w.wdays[weekdayOf(w.day0)], w.anyWday = true, true
		}
	}
	w.setpos = r.BySetPos
	w.weekFrom = w.day0 - floorMod(int(weekdayOf(w.day0))-int(r.Wkst), 7)
	w.periods = cycle[r.Freq] / gcd(w.k, cycle[r.Freq])
	return w
}

// days returns the civil days period p spans (period 0 of a weekly rule
// starts at the start's day, as dateutil's does).
func (w *walk) days(p int) (first, last int) {
	switch w.s.Rule.Freq {
	case Daily:
		d := w.day0 + w.k*p
		return d, d
	case Weekly:
		first = w.weekFrom + 7*w.k*p
		return max(first, w.day0), first + 6
	case Monthly:
		mi := w.y0*12 + int(w.m0) - 1 + w.k*p
		y, m := floorDiv(mi, 12), time.Month(floorMod(mi, 12)+1)
		return dayOf(y, m, 1), dayOf(y, m, daysIn(y, m))
	default:
		y := w.y0 + w.k*p
		return dayOf(y, time.January, 1), dayOf(y, time.December, 31)
	}
}

// chosen appends to out the days of period p the rule chooses, in order.
func (w *walk) chosen(p int, out []int) []int {
	first, last := w.days(p)
	start := len(out)
	for day := first; day <= last; day++ {
		w.steps++
		y, m, d := dateOf(day)
		if w.anyMonth && !w.months[m] {
			day = dayOf(y, m, daysIn(y, m)) // the rest of this month is out too
			continue
		}
		if w.keeps(day, y, m, d) {
			out = append(out, day)
		}
	}
	if len(w.setpos) == 0 || len(out) == start {
		return out
	}
	set := out[start:]
	var picked []int
	for _, pos := range w.setpos {
		i := pos - 1
		if pos < 0 {
			i = len(set) + pos
		}
		if i >= 0 && i < len(set) {
			picked = append(picked, set[i])
		}
	}
	slices.Sort(picked)
	return append(out[:start], slices.Compact(picked)...)
}

// keeps says whether the masks keep a day of a period.
func (w *walk) keeps(day, y int, m time.Month, d int) bool {
	if w.anyMday {
		dim := daysIn(y, m)
		if !w.mdays[d] && !w.nmdays[dim-d+1] {
			return false
		}
	}
	wd := weekdayOf(day)
	if w.anyWday && !w.wdays[wd] {
		return false
	}
	if w.anyNth {
		// The N-th weekday of the month (MONTHLY, or YEARLY with BYMONTH),
		// else of the year.
		var from, to int
		if w.s.Rule.Freq == Monthly || len(w.s.Rule.ByMonth) > 0 {
			from, to = dayOf(y, m, 1), dayOf(y, m, daysIn(y, m))
		} else {
			from, to = dayOf(y, time.January, 1), dayOf(y, time.December, 31)
		}
		fwd, back := (day-from)/7+1, -((to-day)/7 + 1)
		ok := false
		for _, n := range w.nth[wd] {
			if n == fwd || n == back {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// skipMonths returns the first period at or after p whose days are not
// all in months BYMONTH leaves out (daily and weekly rules step through
// months they cannot choose from quickly). It is p when nothing is to
// skip.
func (w *walk) skipMonths(p int) int {
	if !w.anyMonth || (w.s.Rule.Freq != Daily && w.s.Rule.Freq != Weekly) {
		return p
	}
	first, last := w.days(p)
	for day := first; day <= last; day++ {
		if _, m, _ := dateOf(day); w.months[m] {
			return p
		}
	}
	// The first day of the next month BYMONTH allows.
	y, m, _ := dateOf(last)
	for range 13 {
		if m++; m > 12 {
			m, y = 1, y+1
		}
		if w.months[m] {
			break
		}
	}
	next := dayOf(y, m, 1)
	step := w.k
	if w.s.Rule.Freq == Weekly {
		step, next = 7*w.k, next-floorMod(int(weekdayOf(next))-int(w.s.Rule.Wkst), 7)
		return max(p+1, floorDiv(next-w.weekFrom, step))
	}
	return max(p+1, floorDiv(next-w.day0, step))
}

// periodOf is the period a civil day falls in (negative before the start).
func (w *walk) periodOf(day int) int {
	y, m, _ := dateOf(day)
	switch w.s.Rule.Freq {
	case Daily:
		return floorDiv(day-w.day0, w.k)
	case Weekly:
		return floorDiv(day-w.weekFrom, 7*w.k)
	case Monthly:
		return floorDiv(y*12+int(m)-1-(w.y0*12+int(w.m0)-1), w.k)
	default:
		return floorDiv(y-w.y0, w.k)
	}
}

// at is the instant of the occurrence on a civil day.
func (w *walk) at(day int) time.Time {
	y, m, d := dateOf(day)
	return At(y, m, d, w.hh, w.mm, w.ss, w.ns, w.loc)
}

// bound turns an instant bound into a civil day in the series' zone and
// the instant: an occurrence on an earlier day is within it, on a later
// day past it, and on that day compared by instant.
type bound struct {
	set  bool
	day  int
	at   time.Time
	date bool // the bound is the whole day (an UNTIL date)
}

func (w *walk) bounds() []bound {
	var out []bound
	r := w.s.Rule
	if !r.Until.IsZero() {
		if r.UntilDate {
			y, m, d := r.Until.Date()
			out = append(out, bound{set: true, day: dayOf(y, m, d), date: true})
		} else {
			l := r.Until.In(w.loc)
			y, m, d := l.Date()
			out = append(out, bound{set: true, day: dayOf(y, m, d), at: r.Until})
		}
	}
	if !w.s.Last.IsZero() {
		l := w.s.Last.In(w.loc)
		y, m, d := l.Date()
		out = append(out, bound{set: true, day: dayOf(y, m, d), at: w.s.Last})
	}
	return out
}

// within reports whether the occurrence on day is within every bound.
func (w *walk) within(bs []bound, day int) bool {
	for _, b := range bs {
		switch {
		case day < b.day:
		case day > b.day:
			return false
		case !b.date && w.at(day).After(b.at):
			return false
		}
	}
	return true
}

// choose calls visit with the days the rule chooses on or after the start,
// in order, from period p0 on, until visit returns false, the year 9999,
// or a whole calendar cycle of intervals without one (the rule will choose
// none again).
func (w *walk) choose(p0 int, visit func(day int) bool) {
	var buf []int
	for p, empty := p0, 0; empty <= w.periods; p++ {
		if next := w.skipMonths(p); next != p {
			empty += next - p
			p = next - 1
			continue
		}
		if first, _ := w.days(p); first > lastDay {
			return
		}
		buf = w.chosen(p, buf[:0])
		empty++
		for _, day := range buf {
			if day >= w.day0 {
				empty = 0
				if !visit(day) {
					return
				}
			}
		}
	}
}

// lastDay is the civil day of 9999-12-31, past which no walk goes.
var lastDay = dayOf(maxYear, time.December, 31)

// each calls visit with the series' occurrences in order, as civil days:
// from period 0 the start first and numbered (the start is 1, whether the
// rule chooses its day or not), from a later period only the days chosen
// there, with n 0. It stops when visit returns false, after COUNT
// occurrences, or past UNTIL or Last.
func (w *walk) each(p0 int, visit func(n, day int) bool) {
	bs := w.bounds()
	numbered := p0 == 0
	n := 0
	emit := func(day int) bool {
		if numbered {
			n++
		}
		if (w.s.Rule.Count > 0 && n > w.s.Rule.Count) || !w.within(bs, day) {
			return false
		}
		return visit(n, day)
	}
	if numbered && !emit(w.day0) {
		return
	}
	w.choose(p0, func(day int) bool {
		if numbered && day == w.day0 {
			return true // the start, already there
		}
		return emit(day)
	})
}

// Occurrence is one occurrence of a series: its number (the start is 1;
// 0 where the series was not counted from its start) and its instant.
type Occurrence struct {
	N  int
	At time.Time
}

// After returns the first occurrence strictly after t, and false when the
// series has none (ended by COUNT, UNTIL or Last, or chosen nothing more).
// With COUNT the series is walked from its start, so N is its number;
// without it the walk starts near t and N is 0.
func (s Series) After(t time.Time) (Occurrence, bool) {
	next := s.Following(t, 1)
	if len(next) == 0 {
		return Occurrence{}, false
	}
	return next[0], true
}

// Following returns up to limit occurrences strictly after t, in order, in
// one walk (numbered as After numbers them).
func (s Series) Following(t time.Time, limit int) []Occurrence {
	w := s.compile()
	l := t.In(w.loc)
	ty, tm, td := l.Date()
	tday := dayOf(ty, tm, td)
	p0 := 0
	if s.Rule.Count == 0 && tday > w.day0 {
		p0 = max(0, w.periodOf(tday)-1)
	}
	var out []Occurrence
	w.each(p0, func(n, day int) bool {
		if day < tday {
			return true
		}
		at := w.at(day)
		if !at.After(t) {
			return true
		}
		if s.Rule.Count == 0 {
			n = 0
		}
		out = append(out, Occurrence{N: n, At: at})
		return len(out) < limit
	})
	return out
}

// FirstFrom returns the first occurrence on a civil date at or after the
// given one in the series' zone (the completion basis: the first on a
// later day than the completion's).
func (s Series) FirstFrom(y int, m time.Month, d int) (Occurrence, bool) {
	w := s.compile()
	from := dayOf(y, m, d)
	p0 := 0
	if s.Rule.Count == 0 && from > w.day0 {
		p0 = max(0, w.periodOf(from)-1)
	}
	var out Occurrence
	found := false
	w.each(p0, func(n, day int) bool {
		if day < from {
			return true
		}
		out, found = Occurrence{N: n, At: w.at(day)}, true
		return false
	})
	if s.Rule.Count == 0 {
		out.N = 0
	}
	return out, found
}

// Check reports ErrNoOccurrence when the rule chooses no day at all on or
// after the start (before the year 10000), whatever COUNT and UNTIL say.
func (s Series) Check() error {
	chose := false
	s.compile().choose(0, func(int) bool { chose = true; return false })
	if !chose {
		return ErrNoOccurrence
	}
	return nil
}
