package store

import (
	"context"
	"time"
)

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

// Stats counts userID's tasks on calendar c in one pass over the user's
// rows.
func (s *Store) Stats(ctx context.Context, userID string, c Calendar) (Stats, error) {
	var st Stats
	var pending, inProgress, done, skipped int
	err := s.Pool.QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE status = 'pending'),
			count(*) FILTER (WHERE status = 'in_progress'),
			count(*) FILTER (WHERE status = 'done'),
			count(*) FILTER (WHERE status = 'skipped'),
			count(*) FILTER (WHERE `+openSQL+` AND due_date < $2),
			count(*) FILTER (WHERE `+openSQL+` AND due_date >= $3 AND due_date < $4),
			count(*) FILTER (WHERE status = 'done' AND completed_at >= $5),
			count(*) FILTER (WHERE recurring_type <> 'none')
		FROM tasks WHERE user_id = $1`, userID, c.Now, c.Today, c.Tomorrow, c.Week).
		Scan(&st.Total, &pending, &inProgress, &done, &skipped, &st.Overdue, &st.DueToday, &st.CompletedThisWeek, &st.Recurring)
	if err != nil {
		return Stats{}, classify(err)
	}
	st.ByStatus = map[string]int{"pending": pending, "in_progress": inProgress, "done": done, "skipped": skipped}
	st.Timezone = c.Zone
	return st, nil
}
