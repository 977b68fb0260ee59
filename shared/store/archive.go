package store

import (
	"context"
	"time"
)

// ArchiveTasks archives up to limit tasks closed (done or skipped) longer
// than after ago, those closed first first, and returns how many: they
// leave the default lists, the statistics and the list indexes, and stay
// readable (GET …/{id}, ?archived=true, …/chain). Rows another transaction
// holds are left for the next pass.
func (s *Store) ArchiveTasks(ctx context.Context, after time.Duration, limit int) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE tasks SET archived_at = now() WHERE id IN (
		SELECT id FROM tasks WHERE archived_at IS NULL AND status IN ('done', 'skipped')
		  AND coalesce(completed_at, skipped_at) < now() - $1::interval
		ORDER BY coalesce(completed_at, skipped_at) LIMIT $2 FOR UPDATE SKIP LOCKED)`, after, limit)
	return tag.RowsAffected(), classify(err)
}

// PurgeArchived deletes up to limit tasks archived longer than retention
// ago, and returns how many (ARCHIVE_RETENTION; without it nothing is
// ever purged). A next occurrence of a purged task keeps its series and
// loses its parent link, as after a delete.
func (s *Store) PurgeArchived(ctx context.Context, retention time.Duration, limit int) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM tasks WHERE id IN (
		SELECT id FROM tasks WHERE archived_at < now() - $1::interval
		ORDER BY archived_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, retention, limit)
	return tag.RowsAffected(), classify(err)
}
