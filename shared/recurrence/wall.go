package recurrence

import "time"

// At returns the instant a wall-clock reading names in loc, as RFC 5545
// reads a local time (and as Python's zoneinfo does with fold=0): a time
// that does not exist, in the gap a clock jumps forward over, moves forward
// by the gap (02:30 on a night New York skips from 02:00 to 03:00 is
// 03:30); a time that happens twice, when a clock falls back, is the first
// of the two. (time.Date leaves both choices unspecified, and picks
// differently in different zones.)
func At(y int, m time.Month, d, hh, mm, ss, ns int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, hh, mm, ss, 0, time.UTC).Unix()
	nsec := int64(ns)
	// The zone periods within a day and a half on either side hold every
	// offset this reading can have.
	type period struct {
		start, end int64 // unix seconds, end exclusive (0: unbounded)
		offset     int64
	}
	var periods []period
	t := time.Unix(wall-36*3600, 0).In(loc)
	for range 8 {
		start, end := t.ZoneBounds()
		_, off := t.Zone()
		p := period{offset: int64(off)}
		if !start.IsZero() {
			p.start = start.Unix()
		}
		if !end.IsZero() {
			p.end = end.Unix()
		}
		periods = append(periods, p)
		if end.IsZero() || p.end > wall+36*3600 {
			break
		}
		t = end.In(loc)
	}
	in := func(p period, u int64) bool {
		return (p.start == 0 || u >= p.start) && (p.end == 0 || u < p.end)
	}
	// The earliest instant whose reading is wall: with two (a fall-back
	// hour), the first.
	for _, p := range periods {
		if u := wall - p.offset; in(p, u) {
			return time.Unix(u, nsec).In(loc)
		}
	}
	// In a gap: read with the offset in force before it.
	for i := 1; i < len(periods); i++ {
		before, after := periods[i-1], periods[i]
		if wall >= after.start+before.offset && wall < after.start+after.offset {
			return time.Unix(wall-before.offset, nsec).In(loc)
		}
	}
	return time.Date(y, m, d, hh, mm, ss, ns, loc) // not reached for real zones
}
