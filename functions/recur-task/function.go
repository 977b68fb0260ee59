// Package function is the recur-task function: it consumes
// com.todo.task.completed events (from a Kafka consumer group, or pushed as
// CloudEvents over HTTP by Knative or Dapr) and creates exactly one next
// occurrence of each completed recurring task; a reconciler recovers
// completions whose events were lost.
package function

import (
	"fmt"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/dapr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/ratelimit"
)

// Name is the function's name, its events' source and its consumer id.
const Name = "recur-task"

// RecurTask serves recur-task.
type RecurTask struct {
	app.Lifecycle
	// Reconciler is the function's reconciler, once started.
	Reconciler *Reconciler
}

// New returns an unstarted function (Start connects it).
func New() *RecurTask {
	f := &RecurTask{}
	f.Lifecycle = app.NewLifecycle(Name, config.Requirements{Relay: true}, f.routes)
	return f
}

func (f *RecurTask) routes(rt *app.Runtime) []httpx.Route {
	cfg, log := rt.Config, rt.Log
	rec := &Recurrer{Occurrences: rt.Store, DeadLetters: rt.Store, Log: log, Metrics: rt.Metrics, Now: rt.Now,
		Committed: rt.WakeRelay, Tracer: rt.Tracing.Tracer()}
	f.Reconciler = &Reconciler{Completions: rt.Store, Recurrer: rec, Log: log.With().Str("part", "reconciler").Logger(),
		Every: cfg.ReconcileEvery, Grace: cfg.ReconcileGrace, Retention: cfg.ProcessedRetention,
		ArchiveAfter: cfg.ArchiveAfter, ArchiveRetention: cfg.ArchiveRetention}
	if cfg.ReconcileEvery > 0 {
		rt.Go(f.Reconciler.Run)
	}
	var reminders *Scheduler // nil: REMINDERS=false, and a tick fires nothing
	if cfg.Reminders {
		reminders = &Scheduler{Reminders: rt.Store, Log: log.With().Str("part", "reminders").Logger(), Metrics: rt.Metrics,
			Now: rt.Now, MaxLateness: cfg.ReminderMaxLateness, Committed: rt.WakeRelay}
		if cfg.ReminderTrigger == config.ReminderTriggerDaprJobs {
			reminders.Jobs = dapr.Jobs{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", cfg.DaprHTTPPort), Token: cfg.DaprAPIToken}
			log.Info().Msg("REMINDER_TRIGGER=dapr-jobs: a Dapr job per reminder says when it is due; the scheduler's own look is a catch-up scan")
		}
		rt.Go(reminders.Run)
	}
	switch {
	case cfg.PushAuth == config.PushAuthNone:
		log.Warn().Msg("PUSH_AUTH=none: pushed events are accepted without a token; only for platforms that restrict who can reach this service")
	case cfg.AppAPIToken == "":
		log.Warn().Msg("push delivery is off: no APP_API_TOKEN, so every pushed event is refused")
	}
	if len(cfg.KafkaBrokers) == 0 || !cfg.Consume {
		log.Info().Msg("Kafka consumer off (no KAFKA_BROKERS or KAFKA_CONSUME=false); HTTP push only")
	} else {
		rt.Go((&kafka.Consumer{Brokers: cfg.KafkaBrokers, Group: cfg.ConsumerGroup, Topic: events.TopicTaskEvents,
			Partitions: cfg.KafkaPartitions, Handler: rec.ConsumeBatch, Log: log.With().Str("part", "consumer").Logger(),
			Retries: rt.Metrics.EventRetries, Assigned: rt.Metrics.PartitionsAssigned, Revoked: rt.Metrics.PartitionsRevoked,
			Lag: rt.Metrics.ConsumerLag.WithLabelValues(events.TopicTaskEvents)}).Run)
	}
	return PushHandler{Recurrer: rec, Reminders: reminders, Auth: cfg.PushAuth, Token: cfg.AppAPIToken,
		Limit: ratelimit.New(cfg.PushRate), PubSub: cfg.DaprPubSub}.Routes()
}
