package contract

import "time"

// Calendar is the instant a statistic is taken and the bounds of that
// day and week in the user's time zone (weeks start on Monday).
type Calendar struct {
	Now, Today, Tomorrow, Week time.Time
	Zone                       string
}

// CalendarAt is now's calendar in loc.
func CalendarAt(now time.Time, loc *time.Location) Calendar {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	return Calendar{Now: now, Today: today, Tomorrow: today.AddDate(0, 0, 1),
		Week: today.AddDate(0, 0, -(int(today.Weekday())+6)%7), Zone: loc.String()}
}

// Stats count a user's tasks. Overdue and due today count open tasks only
// (pending or in progress).
type Stats struct {
	Total             int            `json:"total"`
	ByStatus          map[string]int `json:"by_status"`
	Overdue           int            `json:"overdue"`
	DueToday          int            `json:"due_today"`
	CompletedThisWeek int            `json:"completed_this_week"`
	Recurring         int            `json:"recurring"`
	Timezone          string         `json:"timezone"`
}
