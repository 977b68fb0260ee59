// Package outbox relays events written to the outbox table to Kafka. One
// relay at a time holds a PostgreSQL advisory lock; others wait as hot
// standbys. The active one streams new rows from the write-ahead log
// through a logical replication slot where the database allows it
// (stream.go), and otherwise polls the table, publishing pending rows in
// insertion order and stamping each as published after the broker
// acknowledged it.
package outbox

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/todoevents/todo/shared/backoff"
)

// lockKey is the advisory lock that elects the active relay.
const lockKey = 0x746f646f0001

// Publisher sends one event to a topic, returning after the broker's ack.
type Publisher interface {
	Publish(ctx context.Context, topic string, e cloudevents.Event) error
}

// StructuredPublisher sends many events at once, as the outbox stores them
// (structured mode: each body a whole CloudEvent in JSON, keyed by its
// partition key), with no decoding and encoding again. It returns after
// the broker acknowledged or refused each: errs[i] is bodies[i]'s outcome.
// A Kafka producer sends them in a few requests, in order per partition.
// The relay uses it when its Publisher has it, else publishes one event at
// a time.
type StructuredPublisher interface {
	PublishStructured(ctx context.Context, topics, keys []string, bodies [][]byte) (errs []error)
}

// errNotSent marks the events a one-at-a-time publisher did not try after
// a failure (sending them would overtake the failed one).
var errNotSent = errors.New("not sent: an earlier event failed")

// oneByOne publishes events through a Publisher, in order, stopping at the
// first transient failure.
func oneByOne(ctx context.Context, ctxs []context.Context, p Publisher, topics []string, events []cloudevents.Event) []error {
	errs := make([]error, len(events))
	stopped := false
	for i := range events {
		if stopped {
			errs[i] = errNotSent
			continue
		}
		c := ctx
		if ctxs != nil {
			c = ctxs[i]
		}
		if errs[i] = p.Publish(c, topics[i], events[i]); errs[i] != nil && !permanent(errs[i]) {
			stopped = true
		}
	}
	return errs
}

// Relay moves outbox rows to the broker.
type Relay struct {
	Pool      *pgxpool.Pool
	Publisher Publisher
	Log       zerolog.Logger
	// Poll is the longest wait between passes when no notification arrives.
	Poll time.Duration
	// Retention is how long published rows are kept before being deleted;
	// CleanEvery is how often the active relay deletes them (default 1m).
	Retention, CleanEvery time.Duration
	// Batch is the number of rows read, published and marked per pass.
	Batch int
	// Stream, when true, streams from the write-ahead log where the
	// database allows (else it polls, saying why once); Slot names the
	// replication slot (empty: one named after the database).
	Stream bool
	Slot   string
	// Published and Failed count publish outcomes, Pass times the passes
	// that moved rows (all optional). Mode is 1 for the way this relay
	// works while it is the active one ("stream" or "poll"), 0 otherwise;
	// SlotLag is the age of the oldest streamed transaction not yet
	// acknowledged by the broker (both optional).
	Published, Failed prometheus.Counter
	Pass              prometheus.Observer
	Mode              *prometheus.GaugeVec
	SlotLag           prometheus.Gauge
	// Tracer records a send span per event that carries a trace context,
	// child of the event's creation (nil: none).
	Tracer trace.Tracer

	toldPolling atomic.Bool

	wakeOnce sync.Once
	wake     chan struct{}
}

// Wake asks the relay to look for new rows now (the fast path after a commit).
func (r *Relay) Wake() {
	select {
	case r.wakeCh() <- struct{}{}:
	default:
	}
}

func (r *Relay) wakeCh() chan struct{} {
	r.wakeOnce.Do(func() { r.wake = make(chan struct{}, 1) })
	return r.wake
}

// Run relays until ctx ends. Database and broker failures are logged and
// retried with backoff; Run only returns when ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	r.wakeCh()
	r.setDefaults()
	var retry backoff.Backoff
	for ctx.Err() == nil {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil && !errors.Is(err, errNotLeader) {
			r.Log.Warn().Err(err).Msg("outbox relay interrupted; retrying")
		}
		if !errors.Is(err, errNotLeader) {
			retry.Wait(ctx)
			continue
		}
		retry.Reset()
		backoff.Sleep(ctx, r.poll())
	}
	return nil
}

// setDefaults gives optional counters a value nobody reads.
func (r *Relay) setDefaults() {
	if r.Published == nil {
		r.Published = prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
	}
	if r.Failed == nil {
		r.Failed = prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
	}
	if r.Pass == nil {
		r.Pass = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "unused"})
	}
	if r.Mode == nil {
		r.Mode = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "unused"}, []string{"mode"})
	}
}

func (r *Relay) poll() time.Duration {
	if r.Poll <= 0 {
		return 2 * time.Second
	}
	return r.Poll
}

func (r *Relay) cleanEvery() time.Duration {
	if r.CleanEvery <= 0 {
		return time.Minute
	}
	return r.CleanEvery
}

func (r *Relay) batch() int {
	if r.Batch <= 0 {
		return 500
	}
	return r.Batch
}

var errNotLeader = errors.New("another relay holds the lock")

// lead takes the advisory lock on a dedicated connection and relays while it
// holds it. Losing the connection releases the lock for another relay.
func (r *Relay) lead(ctx context.Context) error {
	conn, err := r.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(lockKey)).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return errNotLeader
	}
	defer func() {
		// The connection may be gone; then the lock went with it.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(lockKey))
	}()
	var slot string
	if err := conn.QueryRow(ctx, `SELECT `+slotSQL, r.Slot).Scan(&slot); err != nil {
		return dbError{err}
	}
	cleaning := make(chan struct{}, 1) // one clean-up at a time
	defer func() { cleaning <- struct{}{} }()
	clean := func() {
		select {
		case cleaning <- struct{}{}:
			go func() { r.clean(ctx, slot); <-cleaning }()
		default:
		}
	}
	if r.Stream {
		err := r.streamOrSay(ctx, conn.Conn(), slot, clean)
		var cannot errCannotStream
		if !errors.As(err, &cannot) {
			return err
		}
	}
	return r.pollTable(ctx, conn.Conn(), slot, clean)
}

// streamOrSay streams, cleaning up now and then beside it, or returns
// errCannotStream (said once per relay) when the database does not allow
// it.
func (r *Relay) streamOrSay(ctx context.Context, conn *pgx.Conn, slot string, clean func()) error {
	err := canStream(ctx, conn)
	var rc *pgconn.PgConn
	if err == nil {
		rc, err = r.replicationConn(ctx)
	}
	if rc != nil {
		defer func() {
			closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_ = rc.Close(closing)
		}()
	}
	var snapshot string
	if err == nil {
		snapshot, err = r.prepareSlot(ctx, conn, rc, slot)
	}
	var cannot errCannotStream
	if errors.As(err, &cannot) {
		if !r.toldPolling.Swap(true) {
			r.Log.Warn().Str("why", cannot.why).Msg("the outbox relay cannot stream from the write-ahead log; it polls the table instead")
		}
		return err
	}
	if err != nil {
		return err
	}
	r.Log.Info().Str("slot", slot).Msg("outbox relay active")
	if err := r.catchUp(ctx, conn, slot, snapshot); err != nil {
		return err
	}
	r.Mode.WithLabelValues("stream").Set(1)
	defer r.Mode.WithLabelValues("stream").Set(0)
	cleanups := time.NewTicker(r.cleanEvery())
	defer cleanups.Stop()
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-streamCtx.Done():
				return
			case <-cleanups.C:
				clean()
			}
		}
	}()
	return r.stream(streamCtx, conn, rc, slot)
}

// pollTable relays by reading the table, woken by the outbox's
// notifications. Without Stream it drops a slot left from streaming.
func (r *Relay) pollTable(ctx context.Context, conn *pgx.Conn, slot string, clean func()) error {
	if _, err := conn.Exec(ctx, `LISTEN outbox`); err != nil {
		return err
	}
	if !r.Stream {
		if err := dropSlot(ctx, conn, slot); err != nil {
			return err
		}
	}
	r.Log.Info().Msg("outbox relay active, polling")
	r.Mode.WithLabelValues("poll").Set(1)
	defer r.Mode.WithLabelValues("poll").Set(0)
	var pub backoff.Backoff
	lastClean := time.Time{}
	for ctx.Err() == nil {
		start := time.Now()
		n, err := r.drain(ctx, conn, slot)
		if n > 0 {
			r.Pass.Observe(time.Since(start).Seconds())
		}
		if err != nil {
			if isDBError(err) {
				return err
			}
			r.Log.Warn().Err(err).Msg("publish failed; backing off")
			pub.Wait(ctx)
			continue
		}
		pub.Reset()
		if time.Since(lastClean) > r.cleanEvery() {
			// On another connection, so publishing goes on meanwhile.
			lastClean = time.Now()
			clean()
		}
		if n == r.batch() {
			continue // more rows may be waiting
		}
		if err := r.waitForWork(ctx, conn); err != nil {
			return err
		}
	}
	return nil
}

// dropSlot drops the relay's replication slot, if one is left from when
// it streamed: nobody reads it now, and it would hold WAL for ever.
func dropSlot(ctx context.Context, conn *pgx.Conn, slot string) error {
	if _, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
		WHERE slot_name = $1 AND database = current_database() AND NOT active`, slot); err != nil {
		return dbError{err}
	}
	return nil
}
