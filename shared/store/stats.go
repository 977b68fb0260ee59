package store

import (
	"context"

	"github.com/todoevents/todo/shared/contract"
)

// Stats counts userID's tasks on calendar c in one pass over the user's
// rows that are not archived.
func (s *Store) Stats(ctx context.Context, userID string, c contract.Calendar) (contract.Stats, error) {
	var st contract.Stats
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
		FROM tasks WHERE user_id = $1 AND archived_at IS NULL`, userID, c.Now, c.Today, c.Tomorrow, c.Week).
		Scan(&st.Total, &pending, &inProgress, &done, &skipped, &st.Overdue, &st.DueToday, &st.CompletedThisWeek, &st.Recurring)
	if err != nil {
		return contract.Stats{}, classify(err)
	}
	st.ByStatus = map[string]int{"pending": pending, "in_progress": inProgress, "done": done, "skipped": skipped}
	st.Timezone = c.Zone
	return st, nil
}
