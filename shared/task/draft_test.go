package task

import (
	"testing"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

func str(s string) *string { return &s }

func TestBuildDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	got, err := Draft{Title: str("Buy milk")}.Build("id", "u", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusPending || got.Priority != PriorityMedium || got.Timezone != "UTC" ||
		got.RecurringType != RecurNone || got.RecurrenceBasis != BasisCompletion || got.CompletedAt != nil ||
		got.Tags == nil || !got.CreatedAt.Equal(now) {
		t.Fatalf("defaults: %+v", got)
	}
}

func TestBuildDates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name                 string
		d                    Draft
		wantDue, wantEnd     string
		wantAnchor, wantDone bool
	}{
		{"RFC 3339 due", Draft{Title: str("a"), DueDate: str("2026-06-01T09:00:00+02:00")}, "2026-06-01T07:00:00Z", "", false, false},
		{"local due in the task's zone", Draft{Title: str("a"), Timezone: str("Asia/Tokyo"), DueDate: str("2026-06-01T09:00")}, "2026-06-01T00:00:00Z", "", false, false},
		{"bare end date is the end of that local day", Draft{Title: str("a"), RecurringType: str("daily"), Timezone: str("America/New_York"),
			DueDate: str("2026-06-01"), RecurringEndDate: str("2026-06-30")}, "2026-06-01T04:00:00Z", "2026-07-01T03:59:59Z", true, false},
		{"created done", Draft{Title: str("a"), Completed: boolPtr(true)}, "", "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.d.Build("id", "u", now)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmtTime(got.DueDate); s != tc.wantDue {
				t.Errorf("due %s, want %s", s, tc.wantDue)
			}
			if s := fmtTime(got.RecurringEndDate); s != tc.wantEnd {
				t.Errorf("end %s, want %s", s, tc.wantEnd)
			}
			if (got.SeriesAnchor != nil) != tc.wantAnchor || got.Completed() != tc.wantDone || (got.CompletedAt != nil) != tc.wantDone {
				t.Errorf("anchor %v, done %v", got.SeriesAnchor, got.Completed())
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		d     Draft
		field string
	}{
		"no title":          {Draft{}, "title"},
		"year out of range": {Draft{Title: str("a"), DueDate: str("0001-01-01")}, "due_date"},
		// The local reading is in 9999, the UTC instant in 10000.
		"year 10000 in UTC": {Draft{Title: str("a"), DueDate: str("9999-12-31T23:59:59-01:00")}, "due_date"},
		"the wedge": {Draft{Title: str("wedge"), RecurringType: str("daily"), RecurrenceBasis: (*Basis)(str("schedule")),
			Timezone: str("Etc/GMT+12"), DueDate: str("9999-12-30T23:30")}, "due_date"},
		"1969 in UTC":           {Draft{Title: str("a"), DueDate: str("1970-01-01T00:00:00+01:00")}, "due_date"},
		"1969 in a zone east":   {Draft{Title: str("a"), Timezone: str("Asia/Tokyo"), DueDate: str("1970-01-01")}, "due_date"},
		"year 1 far west":       {Draft{Title: str("a"), Timezone: str("Etc/GMT+12"), DueDate: str("0001-01-01T00:00")}, "due_date"},
		"end date past window":  {Draft{Title: str("a"), RecurringType: str("weekly"), RecurringEndDate: str("9999-12-31")}, "recurring_end_date"},
		"zone file, not a zone": {Draft{Title: str("a"), Timezone: str("posix/Asia/Tokyo")}, "timezone"},
		"right/ zone":           {Draft{Title: str("a"), Timezone: str("right/UTC")}, "timezone"},
		"localtime":             {Draft{Title: str("a"), Timezone: str("localtime")}, "timezone"},
		"unknown basis":         {Draft{Title: str("a"), RecurringType: str("daily"), RecurrenceBasis: (*Basis)(str("whenever"))}, "recurrence_basis"},
		"tag too long":          {Draft{Title: str("a"), Tags: []string{string(make([]byte, 51))}}, "tags"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.d.Build("id", "u", time.Now())
			if e := apperr.As(err); e.Code != apperr.Invalid || e.Field != tc.field {
				t.Fatalf("got %v, want invalid %s", err, tc.field)
			}
		})
	}
}

// The edges of the window are accepted wherever they are read from.
func TestBuildAcceptsTheWindowsEdges(t *testing.T) {
	t.Parallel()
	for _, d := range []Draft{
		{Title: str("a"), DueDate: str("1970-01-01T00:00:00Z")},
		{Title: str("a"), Timezone: str("Etc/GMT+12"), DueDate: str("1969-12-31T12:00")},
		{Title: str("a"), Timezone: str("Pacific/Kiritimati"), DueDate: str("9999-12-31T13:59:59")},
		{Title: str("a"), Timezone: str("Etc/GMT+12"), DueDate: str("9999-12-30T11:59:59")},
		{Title: str("a"), RecurringType: str("daily"), RecurringEndDate: str("9999-12-30")},
	} {
		got, err := d.Build("id", "u", time.Now())
		if err != nil {
			t.Fatalf("%s%s in %s: %v", ptrOr(d.DueDate), ptrOr(d.RecurringEndDate), ptrOr(d.Timezone), err)
		}
		for _, at := range []*time.Time{got.DueDate, got.RecurringEndDate} {
			if at != nil && !InRange(*at) {
				t.Fatalf("stored %s, outside the window", at)
			}
		}
	}
}

func ptrOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestSetCompleted(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tk := Task{Status: StatusInProgress}
	if !tk.SetCompleted(true, now) || tk.Status != StatusDone || tk.CompletedAt == nil {
		t.Fatalf("complete: %+v", tk)
	}
	if tk.SetCompleted(true, now.Add(time.Hour)) || !tk.CompletedAt.Equal(now) {
		t.Fatal("completing twice must change nothing")
	}
	if !tk.SetCompleted(false, now) || tk.Status != StatusPending || tk.CompletedAt != nil {
		t.Fatalf("reopen: %+v", tk)
	}
}

func TestIsUUID(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"123e4567-e89b-12d3-a456-426614174000": true, "123E4567-E89B-12D3-A456-426614174000": true,
		"123e4567e89b12d3a456426614174000": false, "123e4567-e89b-12d3-a456-42661417400g": false, "": false,
	} {
		if IsUUID(s) != want {
			t.Errorf("IsUUID(%q) != %v", s, want)
		}
	}
}

func boolPtr(b bool) *bool { return &b }

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Real frontends send capitalised enums and "completed" as a status name;
// they are read as the canonical values, which responses keep.
func TestBuildReadsEnumsAsClientsSendThem(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	status := func(s string) *Status { v := Status(s); return &v }
	priority := func(s string) *Priority { v := Priority(s); return &v }
	basis := func(s string) *Basis { v := Basis(s); return &v }
	got, err := Draft{Title: str("a"), Priority: priority(" High "), Status: status("Completed"),
		RecurringType: str("WEEKLY"), RecurrenceBasis: basis("Schedule"), DueDate: str("2026-06-01")}.Build("id", "u", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Priority != PriorityHigh || got.Status != StatusDone || got.CompletedAt == nil ||
		got.RecurringType != RecurWeekly || got.RecurrenceBasis != BasisSchedule {
		t.Fatalf("got %+v", got)
	}
	for name, d := range map[string]Draft{
		"in-progress": {Title: str("a"), Status: status("In-Progress")},
		"Pending":     {Title: str("a"), Status: status("Pending")},
	} {
		if _, err := d.Build("id", "u", now); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
	for field, d := range map[string]Draft{
		"status":   {Title: str("a"), Status: status("Archived")},
		"priority": {Title: str("a"), Priority: priority("Urgent")},
	} {
		if _, err := d.Build("id", "u", now); apperr.As(err).Field != field {
			t.Errorf("%s: %v, want an error naming it", field, err)
		}
	}
}
