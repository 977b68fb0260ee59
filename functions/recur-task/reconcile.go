package function

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/backoff"
	"github.com/todoevents/todo/shared/contract"
)

// reconcileLock elects one reconciler among all recur-task processes.
const reconcileLock = 0x746f646f0002

// reconcileBatch bounds one pass; the next pass takes the rest.
const reconcileBatch = 500

// maxSkipped bounds the completions a reconciler remembers having skipped.
const maxSkipped = 10000

// Completions is what the reconciler needs of the database: done recurring
// tasks whose completion no event ever handled, the purge of old processed
// event ids, idempotency keys and write budgets, and a lock that elects one
// reconciler.
type Completions interface {
	UnrecurredCompletions(ctx context.Context, grace time.Duration, limit int, skip []string) ([]contract.Completion, error)
	PurgeProcessedEvents(ctx context.Context, retention time.Duration) (int64, error)
	PurgeIdempotencyKeys(ctx context.Context) (int64, error)
	PurgeWriteBudgets(ctx context.Context) (int64, error)
	ArchiveTasks(ctx context.Context, after time.Duration, limit int) (int64, error)
	PurgeArchived(ctx context.Context, retention time.Duration, limit int) (int64, error)
	Leading(ctx context.Context, key int64, fn func(context.Context) error) (bool, error)
}

// archiveBatch is how many tasks one statement archives or purges, and
// archiveBatches how many of them one pass runs at most.
const archiveBatch, archiveBatches = 1000, 20

// Reconciler recovers completions whose events were lost (a broker
// restored without its log, a deleted or expired topic, the local broker
// killed).
type Reconciler struct {
	Completions Completions
	Recurrer    *Recurrer
	Log         zerolog.Logger
	// Every is the period; Grace how old a completion must be; Retention
	// how long processed event ids are kept.
	Every, Grace, Retention time.Duration
	// ArchiveAfter is how long a closed task stays in the lists (0: for
	// ever); ArchiveRetention how long an archived one is kept (0: for ever).
	ArchiveAfter, ArchiveRetention time.Duration

	// skipped are the tasks whose completion failed for good in this
	// process (at most maxSkipped): later passes leave them out, so they
	// cannot crowd out the rest; a restart (after a fix) tries them again.
	// Only the goroutine running Reconcile touches it.
	skipped []string
}

// Run makes a pass at start and then every Every until ctx ends.
func (rc *Reconciler) Run(ctx context.Context) error {
	for {
		if _, err := rc.Reconcile(ctx); err != nil && ctx.Err() == nil {
			rc.Log.Warn().Err(err).Msg("reconciliation pass failed; next pass retries")
		}
		if !backoff.Sleep(ctx, rc.Every) {
			return nil
		}
	}
}

// Reconcile makes one pass when this process is the elected reconciler: it
// drives every done recurring task whose completion no event ever handled,
// older than Grace, through the same path as a delivered event, with an
// event id of its own per completion, and deletes processed event ids
// older than Retention. It returns how many next occurrences it created.
func (rc *Reconciler) Reconcile(ctx context.Context) (created int, err error) {
	_, err = rc.Completions.Leading(ctx, reconcileLock, func(ctx context.Context) error {
		pending, err := rc.Completions.UnrecurredCompletions(ctx, rc.Grace, reconcileBatch, rc.skipped)
		if err != nil {
			return err
		}
		for _, c := range pending {
			// One id per completion: a second pass, or the original event
			// arriving later, finds the work done.
			id := "reconcile/" + c.TaskID + "/" + c.CompletedAt.UTC().Format(time.RFC3339Nano)
			log := rc.Log.With().Str("event_id", id).Logger()
			outcome, err := rc.Recurrer.recordNext(ctx, log, id, c.UserID, c.TaskID, c.CompletedAt)
			switch {
			case poison(err): // this completion fails for good: skip it, not the whole pass
				log.Error().Err(err).Str("task_id", c.TaskID).Str("user_id", c.UserID).
					Msg("reconciler cannot handle this completion; skipped until restart")
				rc.Recurrer.Metrics.ReconcileSkipped.Inc()
				if len(rc.skipped) < maxSkipped {
					rc.skipped = append(rc.skipped, c.TaskID)
				}
				continue
			case err != nil: // the database is unavailable: the next pass retries
				return err
			}
			if outcome == contract.OutcomeCreated {
				created++
				rc.Recurrer.Metrics.Reconciled.Inc()
			}
		}
		purged, err := rc.Completions.PurgeProcessedEvents(ctx, rc.Retention)
		if err != nil {
			return err
		}
		// The database's housekeeping, by its one leader.
		keys, err := rc.Completions.PurgeIdempotencyKeys(ctx)
		if err != nil {
			return err
		}
		budgets, err := rc.Completions.PurgeWriteBudgets(ctx)
		if err != nil {
			return err
		}
		archived, err := batches(ctx, rc.ArchiveAfter, rc.Completions.ArchiveTasks)
		if err != nil {
			return err
		}
		deleted, err := batches(ctx, rc.ArchiveRetention, rc.Completions.PurgeArchived)
		if err != nil {
			return err
		}
		if len(pending) > 0 || purged > 0 || keys > 0 || budgets > 0 || archived > 0 || deleted > 0 {
			rc.Log.Info().Int("completions", len(pending)).Int("created", created).Int64("processed_ids_purged", purged).
				Int64("idempotency_keys_purged", keys).Int64("write_budgets_purged", budgets).
				Int64("tasks_archived", archived).Int64("archived_tasks_purged", deleted).Msg("reconciliation pass")
		}
		return nil
	})
	return created, err
}

// batches runs step (archive or purge, by age) in batches until one falls
// short or archiveBatches ran; an age of 0 turns it off.
func batches(ctx context.Context, age time.Duration, step func(context.Context, time.Duration, int) (int64, error)) (int64, error) {
	if age <= 0 {
		return 0, nil
	}
	var total int64
	for range archiveBatches {
		n, err := step(ctx, age, archiveBatch)
		total += n
		if err != nil || n < archiveBatch {
			return total, err
		}
	}
	return total, nil
}
