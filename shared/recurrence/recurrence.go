// Package recurrence computes the next occurrence of a recurring task. It is
// pure: the completion time is passed in, and all calendar arithmetic happens
// in the task's own time zone, so wall-clock times survive DST changes. A
// series is either a plain frequency (daily to yearly, month ends clamped
// without drifting) or an RFC 5545 rule (RRule, with RFC 5545's semantics).
package recurrence

import "time"

// Frequency of a series.
type Frequency string

// Frequencies.
const (
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
	Monthly Frequency = "monthly"
	Yearly  Frequency = "yearly"
)

// Rule describes a series.
type Rule struct {
	Frequency Frequency
	// Schedule selects schedule-based recurrence (the next slot of the
	// series after the one completed); false is completion-based (one period
	// after the completion).
	Schedule bool
	// Location is the series' time zone; nil means UTC.
	Location *time.Location
	// Anchor is the series' first due date; it fixes the day of month and
	// time of day. Zero means the series has none.
	Anchor time.Time
	// End is the inclusive last allowed due date; zero means no end.
	End time.Time
	// RRule, when set, is the series' RFC 5545 rule (Frequency is then
	// its FREQ, and ignored).
	RRule *RRule
}

// After returns the occurrence that follows one due at due (zero if it had
// none), numbered n (0 when the series is not numbered), closed (completed
// or skipped) at closedAt; false when the series has no further
// occurrence. For a rule, the schedule basis takes the rule's first
// occurrence after both the closed one's slot and its closing (slots
// already past are skipped, and count as used); the completion basis
// restarts the rule on the closing's day (in the series' zone) and takes
// its first occurrence on a later day, at the due date's time of day.
// Occurrences are numbered (N) only under COUNT.
func (r Rule) After(due time.Time, n int, closedAt time.Time) (Occurrence, bool) {
	if r.RRule == nil {
		next, ok := Next(r, due, closedAt)
		return Occurrence{At: next}, ok
	}
	loc := r.location()
	if r.Schedule && !(due.IsZero() && r.Anchor.IsZero()) {
		anchor, after := r.slotAfter(due, closedAt)
		return Series{Rule: *r.RRule, Start: anchor, Location: loc, Last: r.End}.After(after)
	}
	rule := *r.RRule
	if rule.Count > 0 && n >= rule.Count {
		return Occurrence{}, false
	}
	rule.Count = 0 // restarted: the number carries on from the closed one
	c := closedAt.In(loc)
	clock := r.clock(due, c)
	start := At(c.Year(), c.Month(), c.Day(), clock.Hour(), clock.Minute(), clock.Second(), clock.Nanosecond(), loc)
	next, ok := Series{Rule: rule, Start: start, Location: loc, Last: r.End}.FirstFrom(c.Year(), c.Month(), c.Day()+1)
	if ok && r.RRule.Count > 0 {
		next.N = n + 1
	}
	return next, ok
}

// Preview returns up to limit due dates that follow one due at due
// (numbered n), if each is completed on its due date.
func (r Rule) Preview(due time.Time, n, limit int) []Occurrence {
	if r.RRule != nil && r.Schedule && r.RRule.Count > 0 && !r.Anchor.IsZero() {
		// Numbered from the start: one walk instead of one per occurrence.
		return Series{Rule: *r.RRule, Start: r.Anchor, Location: r.location(), Last: r.End}.Following(due, limit)
	}
	var out []Occurrence
	for len(out) < limit {
		next, ok := r.After(due, n, due)
		if !ok || !next.At.After(due) {
			break
		}
		out = append(out, next)
		due, n = next.At, next.N
	}
	return out
}

// maxYear is the last year a due date may fall in (the API's range).
const maxYear = 9999

// maxSteps bounds the search for a schedule slot after a long absence.
const maxSteps = 100000

// Next returns the due date of the occurrence that follows an instance due at
// due (zero if it had none) and completed at completedAt. ok is false when the
// rule has no further occurrence (unknown frequency, or past End).
func Next(r Rule, due, completedAt time.Time) (next time.Time, ok bool) {
	loc := r.location()
	if !r.Frequency.valid() {
		return time.Time{}, false
	}
	if r.Schedule && !(due.IsZero() && r.Anchor.IsZero()) {
		next = nextScheduled(r, loc, due, completedAt)
	} else {
		next = nextAfterCompletion(r, loc, due, completedAt)
	}
	if next.IsZero() || next.Year() > maxYear || (!r.End.IsZero() && next.After(r.End)) {
		return time.Time{}, false
	}
	return next, true
}

func (r Rule) location() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// slotAfter is what the schedule basis counts from (the anchor, else the
// due date) and what the next slot must follow: the closed occurrence's
// due date and its closing, whichever is later.
func (r Rule) slotAfter(due, closedAt time.Time) (anchor, after time.Time) {
	anchor, after = r.Anchor, closedAt
	if anchor.IsZero() {
		anchor = due
	}
	if due.After(after) {
		after = due
	}
	return anchor, after
}

// clock is the time of day of an occurrence counted from a completion c:
// the due date's, else the anchor's, else the completion's own.
func (r Rule) clock(due, c time.Time) time.Time {
	switch {
	case !due.IsZero():
		return due.In(c.Location())
	case !r.Anchor.IsZero():
		return r.Anchor.In(c.Location())
	}
	return c
}

func (f Frequency) valid() bool {
	switch f {
	case Daily, Weekly, Monthly, Yearly:
		return true
	}
	return false
}

// nextScheduled returns the first slot of the series strictly after both the
// completed instance's due date and the completion itself: completing late
// skips the missed slots instead of creating a backlog.
func nextScheduled(r Rule, loc *time.Location, due, completedAt time.Time) time.Time {
	anchor, after := r.slotAfter(due, completedAt)
	a := anchor.In(loc)
	n := estimateSteps(r.Frequency, a, after.In(loc))
	for i := 0; i < maxSteps; i, n = i+1, n+1 {
		if slot := step(r.Frequency, a, n, a.Day(), loc); slot.After(after) {
			return slot
		}
	}
	return time.Time{}
}

// nextAfterCompletion returns one period after the completion day, at the
// series' time of day when it has one (else at the completion's time). The
// day of month follows the anchor when the completion fell on the series'
// day, so a series on the 31st completed on Feb 28 continues on Mar 31.
func nextAfterCompletion(r Rule, loc *time.Location, due, completedAt time.Time) time.Time {
	c := completedAt.In(loc)
	clock := r.clock(due, c)
	// The wall-clock reading alone (in UTC, so no zone moves it).
	base := time.Date(c.Year(), c.Month(), c.Day(), clock.Hour(), clock.Minute(), clock.Second(), clock.Nanosecond(), time.UTC)
	day := c.Day()
	if !r.Anchor.IsZero() {
		if ad := r.Anchor.In(loc).Day(); clampDay(c.Year(), c.Month(), ad) == c.Day() {
			day = ad
		}
	}
	return step(r.Frequency, base, 1, day, loc)
}

// step returns the n-th slot after start's wall-clock reading, in loc:
// calendar days, or calendar months with the day of month clamped to the
// month's length, each read on the wall clock as At reads it.
func step(f Frequency, start time.Time, n, day int, loc *time.Location) time.Time {
	y, m, d := start.Date()
	hh, mm, ss := start.Clock()
	ns := start.Nanosecond()
	switch f {
	case Daily:
		y, m, d = dateOf(dayOf(y, m, d+n))
		return At(y, m, d, hh, mm, ss, ns, loc)
	case Weekly:
		y, m, d = dateOf(dayOf(y, m, d+7*n))
		return At(y, m, d, hh, mm, ss, ns, loc)
	case Monthly:
		ty, tm := addMonths(y, m, n)
		return At(ty, tm, clampDay(ty, tm, day), hh, mm, ss, ns, loc)
	default:
		return At(y+n, m, clampDay(y+n, m, day), hh, mm, ss, ns, loc)
	}
}

// estimateSteps returns a step count whose slot is not after t, so the
// search from there is short.
func estimateSteps(f Frequency, anchor, t time.Time) int {
	if !t.After(anchor) {
		return 1
	}
	var n int
	switch f {
	case Daily:
		n = int(t.Sub(anchor).Hours()/24) - 2
	case Weekly:
		n = int(t.Sub(anchor).Hours()/(24*7)) - 1
	case Monthly:
		n = (t.Year()-anchor.Year())*12 + int(t.Month()-anchor.Month()) - 1
	default:
		n = t.Year() - anchor.Year() - 1
	}
	if n < 1 {
		return 1
	}
	return n
}

func addMonths(y int, m time.Month, n int) (int, time.Month) {
	total := int(m) - 1 + n
	return y + total/12, time.Month(total%12 + 1)
}

func clampDay(y int, m time.Month, day int) int {
	if last := daysIn(y, m); day > last {
		return last
	}
	return day
}
