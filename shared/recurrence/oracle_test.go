package recurrence

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// oracleCase is one rule with the occurrences python-dateutil computed for
// it (testdata/oracle.py wrote testdata/oracle.json).
type oracleCase struct {
	Rule, Zone, Start string
	Occurrences       []time.Time
	Complete          bool // the series has no occurrence after the last one listed
}

func oracleCases(t *testing.T) []oracleCase {
	t.Helper()
	b, err := os.ReadFile("testdata/oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []oracleCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 50 {
		t.Fatalf("only %d cases", len(f.Cases))
	}
	return f.Cases
}

func (c oracleCase) series(t *testing.T) Series {
	t.Helper()
	r, err := Parse(c.Rule)
	if err != nil {
		t.Fatalf("%s: %v", c.Rule, err)
	}
	loc, err := time.LoadLocation(c.Zone)
	if err != nil {
		t.Fatal(err)
	}
	w, err := time.Parse("2006-01-02T15:04:05", c.Start)
	if err != nil {
		t.Fatal(err)
	}
	return Series{Rule: r, Start: At(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc), Location: loc}
}

// Every occurrence of every rule, in every zone, is the one an independent
// implementation (python-dateutil) gives: walking the series from its start
// one occurrence at a time, from a time between two occurrences, and from
// a day on.
func TestRulesAgreeWithDateutil(t *testing.T) {
	t.Parallel()
	total := 0
	for _, c := range oracleCases(t) {
		s := c.series(t)
		if err := s.Check(); err != nil {
			t.Errorf("%s from %s in %s: %v", c.Rule, c.Start, c.Zone, err)
			continue
		}
		want := c.Occurrences
		if !s.Start.Equal(want[0]) {
			t.Fatalf("%s: start %s, dateutil %s", c.Rule, s.Start.UTC(), want[0])
		}
		prev := s.Start
		for i := 1; i < len(want); i++ {
			got, ok := s.After(prev)
			if !ok || !got.At.Equal(want[i]) || (s.Rule.Count > 0 && got.N != i+1) {
				t.Errorf("%s from %s in %s: occurrence %d is %s (number %d, %v), dateutil says %s",
					c.Rule, c.Start, c.Zone, i+1, got.At.UTC().Format(time.RFC3339), got.N, ok, want[i].Format(time.RFC3339))
				break
			}
			// From just before it, and from just after the one before.
			if mid, ok := s.After(got.At.Add(-time.Second)); !ok || !mid.At.Equal(want[i]) {
				t.Errorf("%s in %s: after %s: %s, dateutil %s", c.Rule, c.Zone, got.At.Add(-time.Second).UTC(), mid.At.UTC(), want[i])
			}
			if mid, ok := s.After(prev.Add(time.Second)); !ok || !mid.At.Equal(want[i]) {
				t.Errorf("%s in %s: after %s: %s, dateutil %s", c.Rule, c.Zone, prev.Add(time.Second).UTC(), mid.At.UTC(), want[i])
			}
			prev = got.At
			total++
		}
		if c.Complete {
			if got, ok := s.After(prev); ok {
				t.Errorf("%s from %s in %s: an occurrence after the last, %s", c.Rule, c.Start, c.Zone, got.At.UTC())
			}
		}
	}
	t.Logf("%d occurrences agree", total)
}
