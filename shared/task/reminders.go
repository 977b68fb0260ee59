package task

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todoevents/todo/shared/apperr"
)

// Reminder limits.
const (
	MaxReminders = 5
	// MaxReminderLead is the longest "before" a reminder may ask for.
	MaxReminderLead = 365 * 24 * time.Hour
	// LateAfter is how long after its time a reminder that fires counts as
	// late (it came due while nothing was running).
	LateAfter = time.Minute
)

// ReminderState is where a reminder is in its life.
type ReminderState string

// Reminder states.
const (
	ReminderScheduled ReminderState = "scheduled" // waits for remind_at
	ReminderSent      ReminderState = "sent"      // its event was written
	ReminderCancelled ReminderState = "cancelled" // the task was closed first
	ReminderMissed    ReminderState = "missed"    // came due longer ago than the allowed lateness
)

// Reminder is a reminder of a task: a time before its due date (Before,
// an ISO 8601 duration in its canonical spelling) or an instant (At), the
// time it is due (RemindAt), and its state.
type Reminder struct {
	ID       string        `json:"id"`
	Before   *string       `json:"before,omitempty"`
	At       *time.Time    `json:"at,omitempty"`
	RemindAt time.Time     `json:"remind_at"`
	State    ReminderState `json:"state"`
	SentAt   *time.Time    `json:"sent_at"`
}

// ReminderInput is a reminder as a client sends it: before or at. The
// fields a task answer adds (id, remind_at, state, sent_at) are accepted
// and ignored, so a client may send a task back as it got it.
type ReminderInput struct {
	Before   *string `json:"before"`
	At       *string `json:"at"`
	ID       *string `json:"id"`
	RemindAt *string `json:"remind_at"`
	State    *string `json:"state"`
	SentAt   *string `json:"sent_at"`
}

// inputs are the reminders of t as a client would send them.
func inputs(rs []Reminder) *[]ReminderInput {
	in := make([]ReminderInput, len(rs))
	for i, r := range rs {
		if r.At != nil {
			s := r.At.Format(time.RFC3339Nano)
			in[i].At = &s
		} else {
			in[i].Before = r.Before
		}
	}
	return &in
}

// reminders validates the draft's reminders for t (whose due date and
// zone are set) and sets them, each scheduled; settleReminders then gives
// each its state.
func (d Draft) reminders(t *Task) error {
	t.Reminders = nil
	if d.Reminders == nil {
		return nil
	}
	if len(*d.Reminders) > MaxReminders {
		return apperr.Field("reminders", "at most %d reminders", MaxReminders)
	}
	seen := map[string]bool{}
	for i, in := range *d.Reminders {
		field := fmt.Sprintf("reminders[%d]", i)
		r := Reminder{State: ReminderScheduled}
		var spec string
		switch {
		case (in.Before == nil) == (in.At == nil):
			return apperr.Field(field, "needs one of before (an ISO 8601 duration such as PT15M) or at (a time), not both")
		case in.Before != nil:
			lead, canonical, err := ParseLead(*in.Before)
			if err != nil {
				return apperr.Field(field+".before", "%v", err)
			}
			if t.DueDate == nil {
				return apperr.Field(field+".before", "needs a due_date to count back from")
			}
			r.Before, r.RemindAt, spec = &canonical, t.DueDate.Add(-lead), "before "+canonical
		default:
			at, err := ParseTime(*in.At, t.Location(), false)
			if err != nil {
				return apperr.Field(field+".at", "%v", err)
			}
			at = at.UTC()
			r.At, r.RemindAt, spec = &at, at, "at "+at.Format(time.RFC3339Nano)
		}
		if !InRange(r.RemindAt) {
			return apperr.Field(field, "falls outside %d to %d", Earliest.Year(), Latest.Year())
		}
		if seen[spec] {
			return apperr.Field(field, "repeats an earlier reminder")
		}
		seen[spec] = true
		sum := sha256.Sum256([]byte(t.ID + "\x00" + spec))
		r.ID = hex.EncodeToString(sum[:8])
		t.Reminders = append(t.Reminders, r)
	}
	return nil
}

// settleReminders gives each reminder of t its state, given prev, the
// reminders before the change, at now: one that keeps its id and time
// keeps its state (a cancelled one comes back once the task reopens, if
// its time is still ahead); a new or re-timed one is scheduled; and while
// t is closed nothing stays scheduled.
func (t *Task) settleReminders(prev []Reminder, now time.Time) {
	// A copy: tasks copied by value share the slice, and prev may be it.
	t.Reminders = slices.Clone(t.Reminders)
	for i := range t.Reminders {
		r := &t.Reminders[i]
		state, sentAt := ReminderScheduled, (*time.Time)(nil)
		for _, old := range prev {
			if old.ID == r.ID && old.RemindAt.Equal(r.RemindAt) &&
				(old.State != ReminderCancelled || !r.RemindAt.After(now)) {
				state, sentAt = old.State, old.SentAt
			}
		}
		if t.Closed() && state == ReminderScheduled {
			state = ReminderCancelled
		}
		r.State, r.SentAt = state, sentAt
	}
}

// NextReminder is when t's earliest scheduled reminder is due (nil when
// none is).
func (t Task) NextReminder() *time.Time {
	var next *time.Time
	for _, r := range t.Reminders {
		if r.State == ReminderScheduled && (next == nil || r.RemindAt.Before(*next)) {
			at := r.RemindAt
			next = &at
		}
	}
	return next
}

// Fired is a reminder that fired: its event is due.
type Fired struct {
	Reminder Reminder
	Late     bool
}

// FireReminders marks t's scheduled reminders due by now: sent (and
// returned) when at most maxLateness late, missed (and counted) otherwise.
func (t *Task) FireReminders(now time.Time, maxLateness time.Duration) (fired []Fired, missed int) {
	t.Reminders = slices.Clone(t.Reminders) // (copies of t share the slice)
	for i := range t.Reminders {
		r := &t.Reminders[i]
		if r.State != ReminderScheduled || r.RemindAt.After(now) {
			continue
		}
		late := now.Sub(r.RemindAt)
		if late > maxLateness {
			r.State = ReminderMissed
			missed++
			continue
		}
		at := now
		r.State, r.SentAt = ReminderSent, &at
		fired = append(fired, Fired{Reminder: *r, Late: late > LateAfter})
	}
	return fired, missed
}

// CarryReminders gives next, the occurrence that follows t, t's reminders
// relative to the due date, from its own due date (absolute ones belong
// to t alone), each scheduled.
func (t Task) CarryReminders(next *Task, now time.Time) error {
	var in []ReminderInput
	for _, r := range t.Reminders {
		if r.Before != nil {
			in = append(in, ReminderInput{Before: r.Before})
		}
	}
	if len(in) == 0 {
		return nil
	}
	if err := (Draft{Reminders: &in}).reminders(next); err != nil {
		return err
	}
	next.settleReminders(nil, now)
	return nil
}

// ParseLead reads how long before the due date a reminder is: an ISO 8601
// duration of weeks, days, hours, minutes and seconds (P1W, P1D, PT15M,
// P1DT12H, PT0S), which are fixed lengths (years and months are not, and
// are refused), up to MaxReminderLead. It returns the duration and its
// canonical spelling (weeks as days, largest units first).
func ParseLead(s string) (time.Duration, string, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	if strings.HasPrefix(v, "-") {
		return 0, "", fmt.Errorf("must not be negative: a reminder comes before the due date")
	}
	rest, ok := strings.CutPrefix(v, "P")
	if !ok || rest == "" || rest == "T" {
		return 0, "", fmt.Errorf("%q is not an ISO 8601 duration such as PT15M or P1D", s)
	}
	units := map[byte]time.Duration{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour}
	timeUnits := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}
	var total time.Duration
	inTime, last := false, 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, "", fmt.Errorf("%q is not an ISO 8601 duration such as PT15M or P1D", s)
			}
			inTime, last, rest = true, 0, rest[1:]
			if rest == "" {
				return 0, "", fmt.Errorf("%q has T without a time", s)
			}
			continue
		}
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n == len(rest) || n > 9 {
			return 0, "", fmt.Errorf("%q is not an ISO 8601 duration such as PT15M or P1D", s)
		}
		count, _ := strconv.Atoi(rest[:n])
		unit := rest[n]
		table := units
		if inTime {
			table = timeUnits
		}
		length, ok := table[unit]
		order := strings.IndexByte("WDHMS", unit) + 1
		switch {
		case !inTime && (unit == 'Y' || unit == 'M'):
			return 0, "", fmt.Errorf("years and months have no fixed length: use weeks, days, hours, minutes or seconds")
		case !ok || order <= last:
			return 0, "", fmt.Errorf("%q is not an ISO 8601 duration such as PT15M or P1D", s)
		}
		last = order
		total += time.Duration(count) * length
		if total > MaxReminderLead {
			return 0, "", fmt.Errorf("must be at most P%dD", int(MaxReminderLead/(24*time.Hour)))
		}
		rest = rest[n+1:]
	}
	return total, canonicalLead(total), nil
}

// canonicalLead spells d as P<days>DT<h>H<m>M<s>S, leaving out zero parts.
func canonicalLead(d time.Duration) string {
	days, d := d/(24*time.Hour), d%(24*time.Hour)
	h, d := d/time.Hour, d%time.Hour
	m, d := d/time.Minute, d%time.Minute
	sec := d / time.Second
	var b strings.Builder
	b.WriteString("P")
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if h > 0 || m > 0 || sec > 0 || days == 0 {
		b.WriteString("T")
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if sec > 0 || (days == 0 && h == 0 && m == 0) {
			fmt.Fprintf(&b, "%dS", sec)
		}
	}
	return b.String()
}
