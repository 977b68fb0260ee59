// Package metrics is a function's Prometheus metrics (client_golang) on a
// registry of its own: outbox, event handling and HTTP request metrics,
// plus the Go runtime and process collectors.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/todoevents/todo/shared/contract"
	"github.com/todoevents/todo/shared/outbox"
)

// Metrics are the metrics every function exposes; each part of a function
// uses the ones that concern it.
type Metrics struct {
	reg *prometheus.Registry

	// The outbox relay of this process, and how long its batches took
	// (publish; polling: also read and mark).
	OutboxPublished, OutboxPublishFailures prometheus.Counter
	OutboxPass                             prometheus.Observer
	// OutboxRelayMode is 1 for how this process's relay works while it is
	// the active one (mode "stream" or "poll"); OutboxSlotLag is the age
	// of the oldest streamed transaction the broker has not acknowledged.
	OutboxRelayMode *prometheus.GaugeVec
	OutboxSlotLag   prometheus.Gauge
	// recur-task: events handled and how long that took, by outcome;
	// failed attempts that will be retried; dead letters; occurrences the
	// reconciler created, and completions it skipped (they failed for good).
	EventsProcessed                                          *prometheus.CounterVec
	EventDuration                                            *prometheus.HistogramVec
	EventRetries, DeadLettered, Reconciled, ReconcileSkipped prometheus.Counter
	// Consumer-group partitions this process was given and gave up (handed
	// over or lost) in rebalances: with cooperative rebalancing a member
	// joining moves only its share.
	PartitionsAssigned, PartitionsRevoked prometheus.Counter
	// ConsumerLag is, by topic, the records of this process's partitions
	// not handled yet.
	ConsumerLag *prometheus.GaugeVec
	// recur-task's reminder scheduler: reminders fired (of those, late),
	// missed (beyond the allowed lateness), and how late each fired.
	RemindersFired, RemindersLate, RemindersMissed prometheus.Counter
	ReminderLateness                               prometheus.Observer
	// notify's webhook deliveries: attempts by outcome (delivered,
	// failed_attempt: will be retried, gave_up), and webhooks disabled
	// after failing for too long.
	WebhookDeliveries *prometheus.CounterVec
	WebhooksDisabled  prometheus.Counter
	// HTTP requests by method, route pattern and status.
	RequestDuration *prometheus.HistogramVec
}

// New registers a function's metrics, and the Go runtime and process
// collectors, on a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	// Every value of a closed label set is served from the start, at 0,
	// so rates and alerts see its first increase.
	for _, o := range contract.Outcomes {
		m.EventsProcessed.WithLabelValues(string(o))
		m.EventDuration.WithLabelValues(string(o))
	}
	for _, o := range WebhookOutcomes {
		m.WebhookDeliveries.WithLabelValues(o)
	}
	for _, mode := range []string{"stream", "poll"} {
		m.OutboxRelayMode.WithLabelValues(mode)
	}
	return m
}

// WebhookOutcomes are the outcome label's values of
// todo_webhook_deliveries_total.
var WebhookOutcomes = []string{"delivered", "failed_attempt", "gave_up"}

// newMetrics registers every metric of Metrics on reg.
func newMetrics(reg *prometheus.Registry) *Metrics {
	f := factory{reg}
	return &Metrics{
		reg:                   reg,
		OutboxPublished:       f.counter("todo_outbox_published_total", "Outbox events published by this process."),
		OutboxPublishFailures: f.counter("todo_outbox_publish_failures_total", "Failed publish attempts of this process."),
		OutboxPass: f.histogram("todo_outbox_pass_duration_seconds",
			"Time of one batch of this process's relay: publish it (polling: also read it and mark it published).").WithLabelValues(),
		OutboxRelayMode: f.gaugeVec("todo_outbox_relay_active",
			"1 while this process's outbox relay is the active one, by how it reads new rows: stream (the write-ahead log) or poll.", "mode"),
		OutboxSlotLag: f.gaugeVec("todo_outbox_slot_lag_seconds",
			"Age of the oldest transaction this process's streaming relay read from the log and the broker has not acknowledged yet.").WithLabelValues(),
		EventsProcessed: f.counterVec("todo_events_processed_total", "Events handled, by outcome.", "outcome"),
		EventDuration: f.histogram("todo_event_handling_duration_seconds",
			"Time to handle one event, by outcome.", "outcome"),
		EventRetries: f.counter("todo_events_retries_total", "Event processing attempts that failed and will be retried."),
		DeadLettered: f.counter("todo_events_dead_lettered_total", "Events sent to the dead-letter topic."),
		PartitionsAssigned: f.counter("todo_kafka_partitions_assigned_total",
			"Consumer-group partitions this process was given in rebalances."),
		PartitionsRevoked: f.counter("todo_kafka_partitions_revoked_total",
			"Consumer-group partitions this process handed over (after committing) or lost in rebalances."),
		ConsumerLag: f.gaugeVec("todo_kafka_consumer_lag_records",
			"Records of this process's consumer-group partitions, up to their high watermarks, not handled yet; by topic.", "topic"),
		Reconciled: f.counter("todo_reconciler_created_total",
			"Next occurrences the reconciler created for completions no event delivered."),
		ReconcileSkipped: f.counter("todo_reconciler_skipped_total",
			"Completions the reconciler could not handle (a permanent error), logged and skipped."),
		RemindersFired:  f.counter("todo_reminders_fired_total", "Reminders fired: their event written to the outbox."),
		RemindersLate:   f.counter("todo_reminders_late_total", "Reminders fired more than a minute after their time."),
		RemindersMissed: f.counter("todo_reminders_missed_total", "Reminders that came due longer ago than REMINDER_MAX_LATENESS, not fired."),
		ReminderLateness: f.histogram("todo_reminder_lateness_seconds",
			"How long after its time each reminder fired.").WithLabelValues(),
		WebhookDeliveries: f.counterVec("todo_webhook_deliveries_total",
			"Webhook delivery attempts, by outcome: delivered, failed_attempt (to be retried), gave_up.", "outcome"),
		WebhooksDisabled: f.counter("todo_webhooks_disabled_total", "Webhooks disabled because every delivery failed for WEBHOOK_DISABLE_AFTER."),
		RequestDuration: f.histogram("todo_http_request_duration_seconds",
			"HTTP request latency, by method, route and status.", "method", "route", "status"),
	}
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help,
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, labels)
	f.reg.MustRegister(h)
	return h
}

// WatchOutbox exposes the outbox backlog, read once per scrape by read.
func (m *Metrics) WatchOutbox(read func(context.Context) (outbox.Backlog, error)) {
	m.reg.MustRegister(backlogCollector{read: read})
}

var queueDesc = prometheus.NewDesc("todo_webhook_deliveries_pending",
	"Webhook deliveries waiting to be sent, by queue: new (not tried yet) or retry (after failed attempts).", []string{"queue"}, nil)

// WatchWebhookQueue exposes notify's pending deliveries, read once per
// scrape by read (left out when the database cannot be read).
func (m *Metrics) WatchWebhookQueue(read func(context.Context) (fresh, retrying int64, err error)) {
	m.reg.MustRegister(queueCollector{read: read})
}

type queueCollector struct {
	read func(context.Context) (int64, int64, error)
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fresh, retrying, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(fresh), "new")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(retrying), "retry")
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

var (
	pendingDesc = prometheus.NewDesc("todo_outbox_pending", "Outbox events not yet published.", nil, nil)
	ageDesc     = prometheus.NewDesc("todo_outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox event.", nil, nil)
	failedDesc  = prometheus.NewDesc("todo_outbox_failed_rows", "Outbox events the broker refused for good, set aside.", nil, nil)
	slotDesc    = prometheus.NewDesc("todo_outbox_slot_lag_bytes",
		"Write-ahead log the outbox relay's replication slot has not confirmed (and the server keeps for it); 0 without a slot.", nil, nil)
)

// backlogCollector reads the outbox backlog once per scrape; when the
// database cannot be read the three gauges are left out, not reported as 0.
type backlogCollector struct {
	read func(context.Context) (outbox.Backlog, error)
}

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- ageDesc
	ch <- failedDesc
	ch <- slotDesc
}

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(b.Pending))
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, b.OldestAge)
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(b.Failed))
	ch <- prometheus.MustNewConstMetric(slotDesc, prometheus.GaugeValue, b.SlotLagBytes)
}
