// Package function is the recur-task function: it consumes
// com.todo.task.completed events (from a Kafka consumer group, or pushed as
// CloudEvents over HTTP by Knative or Dapr) and creates exactly one next
// occurrence of each completed recurring task.
package function

import (
	"context"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/ratelimit"
)

// Name is the function's name, its events' source and its consumer id.
const Name = "recur-task"

// Function serves recur-task.
type Function struct {
	app.Lifecycle
	dlq          *kafka.Publisher
	deadLettered *metrics.Counter
	reconciled   *metrics.Counter
	pushLimit    *ratelimit.Keyed
}

// New returns an unstarted function (Start connects it).
func New() *Function { return &Function{} }

// NewWith returns a function running on deps; it consumes from Kafka when
// deps are configured for it.
func NewWith(deps *app.Deps) *Function {
	f := &Function{}
	f.init(deps)
	return f
}

// Start connects the function using the environment env.
func (f *Function) Start(ctx context.Context, env map[string]string) error {
	return f.Open(ctx, Name, env, config.Needs{}, f.init)
}

// Stop stops consuming and releases connections.
func (f *Function) Stop(ctx context.Context) error {
	err := f.Lifecycle.Stop(ctx)
	if f.dlq != nil {
		_ = f.dlq.Close()
	}
	return err
}

func (f *Function) init(d *app.Deps) {
	f.Serve(d, app.Route{Method: "POST", Pattern: "/", Handler: f.receive})
	f.deadLettered = d.Metrics.Counter("todo_events_dead_lettered_total", "Events sent to the dead-letter topic.", "", "")
	f.reconciled = d.Metrics.Counter("todo_reconciler_created_total",
		"Next occurrences the reconciler created for completions no event delivered.", "", "")
	cfg := d.Config
	f.pushLimit = ratelimit.New(cfg.PushRate)
	switch {
	case cfg.PushAuth == config.PushAuthNone:
		d.Log.Warn().Msg("PUSH_AUTH=none: pushed events are accepted without a token; only for platforms that restrict who can reach this service")
	case cfg.AppAPIToken == "":
		d.Log.Warn().Msg("push delivery is off: no APP_API_TOKEN, so every pushed event is refused")
	}
	if cfg.ReconcileEvery > 0 {
		d.Go(f.reconcileLoop)
	}
	if len(cfg.KafkaBrokers) == 0 || !cfg.Consume {
		d.Log.Info().Msg("Kafka consumer off (no KAFKA_BROKERS or KAFKA_CONSUME=false); HTTP push only")
		return
	}
	f.dlq = kafka.LazyPublisher(cfg.KafkaBrokers, Name+"-dlq", cfg.KafkaPartitions, events.TopicDeadLetters)
	consumer := &kafka.Consumer{Brokers: cfg.KafkaBrokers, Group: cfg.ConsumerGroup, Topic: events.TopicTaskEvents,
		Partitions: cfg.KafkaPartitions,
		Handler:    f.consume, Log: d.Log.With().Str("part", "consumer").Logger(),
		Retries: d.Metrics.Counter("todo_events_retries_total", "Event processing attempts that failed and will be retried.", "", "")}
	d.Go(consumer.Run)
}
