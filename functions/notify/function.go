// Package function is the notify function: a user's webhooks
// (POST/GET/DELETE /api/{user_id}/webhooks, and each one's deliveries),
// and their delivery. It consumes reminders and task-events, queues a
// delivery of each event for every webhook of its user that wants it, and
// sends the deliveries signed per the Standard Webhooks specification,
// trying a failed one again on a schedule with the same webhook-id, only
// ever to addresses webhooks may reach.
package function

import (
	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/webhook"
)

// Name is the function's name and its consumer group (the reminders'
// group adds -reminders; a KAFKA_CONSUMER_GROUP G makes them G-notify and
// G-notify-reminders).
const Name = "notify"

// Notify serves notify.
type Notify struct {
	app.Lifecycle
	// Sender sends the deliveries, once started.
	Sender *Sender
}

// New returns an unstarted function (Start connects it).
func New() *Notify {
	f := &Notify{}
	f.Lifecycle = app.NewLifecycle(Name, config.Requirements{Auth: true, Group: Name}, f.routes)
	return f
}

func (f *Notify) routes(rt *app.Runtime) []httpx.Route {
	cfg, log := rt.Config, rt.Log
	addrs := NewAddresses(cfg.Webhooks)
	switch {
	case cfg.Webhooks.AllowLoopback:
		log.Warn().Msg("WEBHOOK_ALLOW_LOOPBACK=true: webhooks may reach this machine's own services; for development only")
	case cfg.Webhooks.AllowPrivate:
		log.Warn().Msg("WEBHOOK_ALLOW_PRIVATE=true: webhooks may reach private networks (link-local and metadata addresses stay refused)")
	}
	schedule := webhook.DefaultSchedule
	schedule.Delays, schedule.Period, schedule.DisableAfter = cfg.Webhooks.RetryDelays, cfg.Webhooks.RetryPeriod, cfg.Webhooks.DisableAfter
	f.Sender = &Sender{Deliveries: rt.Store, Client: addrs.Client(cfg.Webhooks.Timeout), Schedule: schedule,
		Timeout: cfg.Webhooks.Timeout, Log: log.With().Str("part", "sender").Logger(), Metrics: rt.Metrics, Now: rt.Now}
	rt.Metrics.WatchWebhookQueue(rt.Store.DeliveryQueue)
	rt.Go(f.Sender.Run)
	enq := &Enqueuer{Queue: rt.Store, Log: log.With().Str("part", "consumer").Logger(), Now: rt.Now, Queued: f.Sender.Wake,
		Tracer: rt.Tracing.Tracer()}
	if len(cfg.KafkaBrokers) == 0 || !cfg.Consume {
		log.Warn().Msg("Kafka consumer off (no KAFKA_BROKERS or KAFKA_CONSUME=false): no events reach the webhooks")
	} else {
		// A group per topic, so a backlog of task events never delays a
		// reminder; never recur-task's group, even where one
		// KAFKA_CONSUMER_GROUP is set for every function (make run's
		// environment), or notify would take its partitions.
		group := cfg.ConsumerGroup
		if group != Name {
			group += "-" + Name
		}
		for topic, group := range map[string]string{events.TopicTaskEvents: group, events.TopicReminders: group + "-reminders"} {
			rt.Go((&kafka.Consumer{Brokers: cfg.KafkaBrokers, Group: group, Topic: topic, Partitions: cfg.KafkaPartitions,
				Handler: enq.Consume, Log: log.With().Str("part", "consumer").Str("topic", topic).Logger(),
				Retries: rt.Metrics.EventRetries, Assigned: rt.Metrics.PartitionsAssigned, Revoked: rt.Metrics.PartitionsRevoked,
				Lag: rt.Metrics.ConsumerLag.WithLabelValues(topic)}).Run)
		}
	}
	return API{Webhooks: rt.Store, Addresses: addrs, Guard: rt.Guard, Now: rt.Now}.Routes()
}
