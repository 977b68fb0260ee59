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

func checkRange(t time.Time) (time.Time, error) {
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, errors.New("year must be between 1970 and 9999")
	}
	return t.UTC(), nil
}

// locations caches the zones loaded so far (time.LoadLocation reads and
// parses the zone's file on every call). Only zones that exist are kept,
// so it holds at most the few hundred IANA names.
var locations sync.Map // name → *time.Location

// ValidLocation loads an IANA zone name, refusing the empty name and "Local".
func ValidLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone", name)
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
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
