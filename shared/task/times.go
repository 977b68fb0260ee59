package task

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04"}

// ParseTime reads an RFC 3339 timestamp, a local date-time without offset
// (interpreted in loc) or a bare date. A bare date means the start of that
// day in loc, or its last instant when endOfDay is set (end dates are
// inclusive).
func ParseTime(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return checkRange(t)
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return checkRange(t)
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if endOfDay {
			d = time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc)
		}
		return checkRange(d)
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp or YYYY-MM-DD date", s)
}

// The window every time the API stores lies in (due dates, end dates,
// series anchors and every computed next occurrence), as a UTC instant:
// from Earliest to Latest, inclusive. Latest ends the day before
// 9999-12-31 UTC, so the time reads as a four-digit year in every time zone
// (UTC-12 to UTC+14) and every encoder (RFC 3339, JSON, PostgreSQL,
// JavaScript) round-trips it. The schema holds the same window.
var (
	Earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	Latest   = time.Date(9999, 12, 30, 23, 59, 59, 999999000, time.UTC)
)

// InRange reports whether t lies in the window [Earliest, Latest].
func InRange(t time.Time) bool { return !t.Before(Earliest) && !t.After(Latest) }

// errOutOfRange is why a time outside the window is refused.
var errOutOfRange = errors.New("must be between 1970-01-01T00:00:00Z and 9999-12-30T23:59:59Z (checked in UTC)")

// checkRange returns t in UTC if it lies in the window.
func checkRange(t time.Time) (time.Time, error) {
	if !InRange(t) {
		return time.Time{}, errOutOfRange
	}
	return t.UTC(), nil
}

// zones is the set of zoneNames.
var zones = func() map[string]bool {
	m := make(map[string]bool, len(zoneNames))
	for _, n := range zoneNames {
		m[n] = true
	}
	return m
}()

// locations caches the zones loaded so far (time.LoadLocation reads and
// parses the zone's file on every call). Only listed zones are kept, so it
// holds at most the few hundred names of the tz database.
var locations sync.Map // name → *time.Location

// ValidLocation loads an IANA time zone by its tz database name (a Zone or
// a Link, such as "Asia/Tokyo", "UTC" or "US/Eastern", exactly as spelled
// there). Anything else is refused: the empty name, "Local", and the files
// of a zoneinfo directory that are not zones ("localtime", "posixrules",
// "Factory", the "posix/" and "right/" trees), which browsers refuse too.
func ValidLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if !zones[name] {
		return nil, fmt.Errorf("%q is not a time zone of the IANA tz database", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
