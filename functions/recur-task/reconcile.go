package function

import (
	"context"
	"time"

	"github.com/todoevents/todo/shared/backoff"
	"github.com/todoevents/todo/shared/store"
)

// reconcileLock elects one reconciler among all recur-task processes.
const reconcileLock = 0x746f646f0002

// reconcileBatch bounds one pass; the next pass takes the rest.
const reconcileBatch = 500

// reconcileLoop runs a reconciliation pass at start and then every
// RECONCILE_EVERY until ctx ends.
func (f *Function) reconcileLoop(ctx context.Context) error {
	for {
		if _, err := f.Reconcile(ctx); err != nil && ctx.Err() == nil {
			f.Deps.Log.Warn().Err(err).Msg("reconciliation pass failed; next pass retries")
		}
		if !backoff.Sleep(ctx, f.Deps.Config.ReconcileEvery) {
			return nil
		}
	}
}

// Reconcile makes one pass when this process is the elected reconciler: it
// drives every done recurring task whose completion no event ever handled
// (the broker lost it, a topic was deleted, the local broker died), older
// than RECONCILE_GRACE, through the same path as a delivered event, and
// deletes processed event ids older than PROCESSED_EVENTS_RETENTION. It
// returns how many next occurrences it created.
func (f *Function) Reconcile(ctx context.Context) (created int, err error) {
	cfg, log := f.Deps.Config, f.Deps.Log.With().Str("part", "reconciler").Logger()
	_, err = f.Deps.Store.Leading(ctx, reconcileLock, func(ctx context.Context) error {
		pending, err := f.Deps.Store.UnrecurredCompletions(ctx, cfg.ReconcileGrace, reconcileBatch)
		if err != nil {
			return err
		}
		for _, c := range pending {
			// One id per completion: a second pass, or the original event
			// arriving later, finds the work done.
			id := "reconcile/" + c.TaskID + "/" + c.CompletedAt.UTC().Format(time.RFC3339Nano)
			outcome, err := f.occur(ctx, log.With().Str("event_id", id).Logger(), id, c.UserID, c.TaskID, c.CompletedAt)
			if err != nil {
				return err
			}
			if outcome == store.OutcomeCreated {
				created++
				f.reconciled.Inc()
			}
		}
		purged, err := f.Deps.Store.PurgeProcessedEvents(ctx, cfg.ProcessedRetention)
		if err != nil {
			return err
		}
		if len(pending) > 0 || purged > 0 {
			log.Info().Int("completions", len(pending)).Int("created", created).Int64("processed_ids_purged", purged).
				Msg("reconciliation pass")
		}
		return nil
	})
	return created, err
}
