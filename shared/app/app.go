// Package app wires a function's dependencies from its configuration: the
// logger, the database, token verification and, when Kafka is configured,
// the outbox relay. Binaries, the local runner and tests share it.
package app

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/auth"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/logging"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/ratelimit"
	"github.com/todoevents/todo/shared/store"
)

// Deps are what a function runs on.
type Deps struct {
	Name    string
	Config  config.Config
	Log     zerolog.Logger
	Store   *store.Store
	Auth    auth.Verifier
	Now     func() time.Time
	Relay   *outbox.Relay // nil when events are left for another relay
	Metrics *metrics.Registry
	// UserLimit is the per-user write rate limit.
	UserLimit *ratelimit.Keyed

	publisher *kafka.Publisher
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Now is the default clock: UTC at the database's microsecond precision, so
// what a function returns equals what it stored.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open loads the configuration from env and connects everything function
// name needs. Close releases it.
func Open(ctx context.Context, name string, env map[string]string, needs config.Needs) (*Deps, error) {
	cfg, err := config.Load(env, needs)
	if err != nil {
		return nil, err
	}
	log, err := logging.Stdout(cfg.LogFormat, cfg.LogLevel, name)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	d := &Deps{Name: name, Config: cfg, Log: log, Store: st, Now: Now,
		Auth: auth.Verifier{Secret: []byte(cfg.JWTSecret)}, Metrics: metrics.NewRegistry(), ctx: bg, cancel: cancel,
		UserLimit: ratelimit.New(cfg.UserRate)}
	d.registerOutboxGauges()
	d.startRelay()
	return d, nil
}

func (d *Deps) startRelay() {
	if len(d.Config.KafkaBrokers) == 0 || !d.Config.RelayEnabled {
		d.Log.Info().Msg("outbox relay off here (no KAFKA_BROKERS or OUTBOX_RELAY=false)")
		return
	}
	// Connecting waits for the first publish, so the function starts (and
	// keeps queueing events) while the brokers are down.
	pub := kafka.LazyPublisher(d.Config.KafkaBrokers, d.Name, d.Config.KafkaPartitions,
		events.TopicTaskEvents, events.TopicDeadLetters)
	d.publisher = pub
	d.Relay = &outbox.Relay{Pool: d.Store.Pool, Publisher: pub, Log: d.Log.With().Str("part", "relay").Logger(),
		Retention: d.Config.OutboxRetention,
		Published: d.Metrics.Counter("todo_outbox_published_total", "Outbox events published by this process.", "", ""),
		Failed:    d.Metrics.Counter("todo_outbox_publish_failures_total", "Failed publish attempts of this process.", "", "")}
	d.Go(d.Relay.Run)
}

func (d *Deps) registerOutboxGauges() {
	d.Metrics.Gauges(func(ctx context.Context) ([]float64, error) {
		b, err := d.Store.OutboxBacklog(ctx)
		return []float64{float64(b.Pending), b.OldestAge, float64(b.Failed)}, err
	},
		metrics.GaugeSpec{Name: "todo_outbox_pending", Help: "Outbox events not yet published."},
		metrics.GaugeSpec{Name: "todo_outbox_oldest_pending_age_seconds", Help: "Age of the oldest unpublished outbox event."},
		metrics.GaugeSpec{Name: "todo_outbox_failed_rows", Help: "Outbox events the broker refused for good, set aside."})
}

// Go runs fn in the background until Close.
func (d *Deps) Go(fn func(context.Context) error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(d.ctx); err != nil {
			d.Log.Error().Err(err).Msg("background task stopped")
		}
	}()
}

// WakeRelay asks the relay to publish new outbox rows now.
func (d *Deps) WakeRelay() {
	if d.Relay != nil {
		d.Relay.Wake()
	}
}

// Close stops background work and releases connections.
func (d *Deps) Close() {
	d.cancel()
	d.wg.Wait()
	if d.publisher != nil {
		_ = d.publisher.Close()
	}
	d.Store.Close()
}
