package task

import "testing"

// A zone is read from the zone database once, then served from memory;
// names that are not IANA zones are refused every time and never kept.
func TestValidLocationLoadsEachZoneOnce(t *testing.T) {
	first, err := ValidLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ValidLocation("Asia/Tokyo")
	if err != nil || again != first {
		t.Fatalf("second load: %p (%v), want the cached %p", again, err, first)
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus_Mons", "../etc/passwd"} {
		if _, err := ValidLocation(bad); err == nil {
			t.Fatalf("%q accepted as a time zone", bad)
		}
		if _, kept := locations.Load(bad); kept {
			t.Fatalf("%q was cached", bad)
		}
	}
}
