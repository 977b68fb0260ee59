// Package app is the composition root of a function process: it reads the
// configuration and builds the concrete adapters (logger, PostgreSQL store,
// metrics, token verifier, outbox relay), and hands a function what it
// asked for. Binaries, the local runner and tests share it.
package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	_ "golang.org/x/crypto/x509roots/fallback" // TLS roots (JWKS, PostgreSQL) on an image with no system roots

	"github.com/todoevents/todo/shared/auth"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/dapr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/kafka"
	"github.com/todoevents/todo/shared/logging"
	"github.com/todoevents/todo/shared/metrics"
	"github.com/todoevents/todo/shared/outbox"
	"github.com/todoevents/todo/shared/store"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/tracing"
)

// Runtime is what a started function process holds.
type Runtime struct {
	Name    string
	Config  config.Config
	Log     zerolog.Logger
	Store   *store.Store
	Metrics *metrics.Metrics
	// Tracing exports the process's spans (off without an endpoint).
	Tracing *tracing.Tracing
	// Now is the clock; Guard admits API requests.
	Now   func() time.Time
	Guard httpx.Guard

	relay     *outbox.Relay // nil when events are left for another relay
	publisher *kafka.Publisher
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Now is the default clock: UTC at the database's microsecond precision, so
// what a function returns equals what it stored.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open loads the configuration from env and connects what function name
// requires (req). Close releases it.
func Open(ctx context.Context, name string, env map[string]string, req config.Requirements) (*Runtime, error) {
	cfg, err := config.Load(env, req)
	if err != nil {
		return nil, err
	}
	log, err := logging.Stdout(cfg.LogFormat, cfg.LogLevel, name)
	if err != nil {
		return nil, err
	}
	tr, err := tracing.Start(ctx, cfg.TracesEndpoint, name)
	if err != nil {
		return nil, err
	}
	if tr.On() {
		log.Info().Str("endpoint", cfg.TracesEndpoint).Msg("tracing on: spans exported by OTLP/HTTP")
		// The SDK reports a failed export here (after its own retries),
		// as a log line like the others rather than on stderr.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn().Err(err).Msg("tracing: spans not exported")
		}))
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		_ = tr.Shutdown(ctx)
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	verifier := auth.Verifier{Secret: []byte(cfg.JWTSecret), Issuer: cfg.Issuer, Audience: cfg.Audience}
	if req.Auth && cfg.JWKSURL != "" {
		onError := func(url string, err error) { log.Warn().Err(err).Str("jwks", url).Msg("fetching the JWKS failed") }
		if verifier.Keys, err = auth.JWKS(bg, cfg.JWKSURL, nil, onError); err != nil {
			cancel()
			st.Close()
			_ = tr.Shutdown(ctx)
			return nil, err
		}
	}
	st.Budget = store.NewWriteBudget(cfg.UserRate)
	st.OutboxSlot = cfg.OutboxSlot
	rt := &Runtime{Name: name, Config: cfg, Log: log, Store: st, Now: Now, Metrics: metrics.New(), Tracing: tr,
		Guard: httpx.Guard{Auth: verifier}, ctx: bg, cancel: cancel}
	rt.Metrics.WatchOutbox(st.OutboxBacklog)
	if req.Relay {
		rt.startRelay()
	}
	return rt, nil
}

func (rt *Runtime) startRelay() {
	cfg := rt.Config
	var pub outbox.Publisher
	switch {
	case !cfg.Publish:
		rt.Log.Warn().Msg("EVENTS_PUBLISH=false: events stay in the outbox, no next occurrences are created until it is true again")
		return
	case !cfg.RelayEnabled:
		rt.Log.Info().Msg("outbox relay off here (OUTBOX_RELAY=false): events are left for another relay")
		return
	case cfg.Transport == config.TransportDapr:
		pub = &dapr.Publisher{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", cfg.DaprHTTPPort), PubSub: cfg.DaprPubSub,
			Token: cfg.DaprAPIToken}
	case len(cfg.KafkaBrokers) == 0:
		rt.Log.Warn().Msg("no KAFKA_BROKERS: events stay in the outbox until a relay with brokers runs")
		return
	default:
		// Connecting waits for the first publish, so the function starts
		// (and keeps queueing events) while the brokers are down.
		rt.publisher = kafka.LazyPublisher(rt.Log, cfg.KafkaBrokers, rt.Name, cfg.KafkaPartitions,
			events.Topics...)
		pub = rt.publisher
	}
	rt.relay = &outbox.Relay{Pool: rt.Store.Pool, Publisher: pub,
		Log: rt.Log.With().Str("part", "relay").Str("transport", cfg.Transport).Logger(), Retention: cfg.OutboxRetention,
		Stream: cfg.OutboxStream, Slot: cfg.OutboxSlot,
		Published: rt.Metrics.OutboxPublished, Failed: rt.Metrics.OutboxPublishFailures, Pass: rt.Metrics.OutboxPass,
		Mode: rt.Metrics.OutboxRelayMode, SlotLag: rt.Metrics.OutboxSlotLag, Tracer: rt.Tracing.Tracer()}
	rt.Go(rt.relay.Run)
}

// Go runs fn in the background until Close.
func (rt *Runtime) Go(fn func(context.Context) error) {
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		if err := fn(rt.ctx); err != nil {
			rt.Log.Error().Err(err).Msg("background task stopped")
		}
	}()
}

// WakeRelay asks the relay to publish new outbox rows now (the fast path
// after a commit); without a relay here it does nothing.
func (rt *Runtime) WakeRelay() {
	if rt.relay != nil {
		rt.relay.Wake()
	}
}

// WriteKit is what an API handler that changes data runs with: the request
// guard, the clock, and a call after each commit (the relay's fast path).
type WriteKit struct {
	Guard httpx.Guard
	Now   func() time.Time
	// Committed is called after a change and its event are stored
	// (optional).
	Committed func()
}

// Commit reports a stored change.
func (w WriteKit) Commit() {
	if w.Committed != nil {
		w.Committed()
	}
}

// Stored answers a request whose change to t was stored: it reports the
// commit and writes t with status and its ETag (the version for If-Match).
func (w WriteKit) Stored(rw http.ResponseWriter, status int, t task.Task) {
	w.Commit()
	rw.Header().Set("ETag", t.ETag())
	httpx.WriteJSON(rw, status, t)
}

// WriteKit is this function's WriteKit.
func (rt *Runtime) WriteKit() WriteKit {
	return WriteKit{Guard: rt.Guard, Now: rt.Now, Committed: rt.WakeRelay}
}

// Middleware is the HTTP middleware of this function.
func (rt *Runtime) Middleware() httpx.Middleware {
	return httpx.Middleware{Log: rt.Log, CORS: httpx.CORS(rt.Config.CORSOrigins), Requests: rt.Metrics.RequestDuration,
		Tracing: rt.Tracing}
}

// Wrap puts h inside the function's middleware.
func (rt *Runtime) Wrap(h http.Handler) http.Handler { return rt.Middleware().Wrap(h) }

// Close stops background work and releases connections.
func (rt *Runtime) Close() {
	rt.cancel()
	rt.wg.Wait()
	if rt.publisher != nil {
		_ = rt.publisher.Close()
	}
	rt.Store.Close()
	// What is still buffered goes out now, within the shutdown's grace.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.Tracing.Shutdown(ctx); err != nil {
		rt.Log.Warn().Err(err).Msg("exporting the last spans failed")
	}
}
