// Package config reads the functions' settings from environment variables,
// applies defaults and validates them, so a bad value stops start-up with a
// message naming the variable.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinSecretLen is the shortest accepted signing secret or app token.
const MinSecretLen = 16

// Push authentication modes (PUSH_AUTH).
const (
	PushAuthToken = "token" // pushes must carry APP_API_TOKEN
	PushAuthNone  = "none"  // the platform restricts who can reach the endpoint
)

// slotName is what PostgreSQL accepts as a replication slot's name (or
// empty, for the default).
var slotName = regexp.MustCompile(`^[a-z0-9_]{0,63}$`)

// Variables names every environment variable Load reads.
var Variables = []string{
	"PORT", "DATABASE_URL", "DB_MAX_CONNS", "KAFKA_BROKERS", "KAFKA_PARTITIONS", "KAFKA_CONSUMER_GROUP",
	"KAFKA_CONSUME", "AUTH_JWT_SECRET", "BETTER_AUTH_SECRET", "AUTH_JWKS_URL", "BETTER_AUTH_URL", "AUTH_ISSUER",
	"AUTH_AUDIENCE", "CORS_ORIGINS", "LOG_FORMAT", "LOG_LEVEL",
	"OUTBOX_RELAY", "OUTBOX_RETENTION", "OUTBOX_STREAM", "OUTBOX_SLOT", "APP_API_TOKEN", "PUSH_AUTH", "RATE_LIMIT_PER_USER",
	"RATE_LIMIT_PUSH_PER_CLIENT", "RECONCILE_EVERY", "RECONCILE_GRACE", "PROCESSED_EVENTS_RETENTION", "ARCHIVE_AFTER", "ARCHIVE_RETENTION",
	"HTTP_READ_TIMEOUT", "HTTP_WRITE_TIMEOUT", "HTTP_IDLE_TIMEOUT", "HTTP_HEADER_TIMEOUT", "HTTP_MAX_HEADER_BYTES",
	"HTTP_MAX_CONNS", "DEBUG_ADDR", "METRICS_ADDR", "SHUTDOWN_DELAY", "LIVE_STREAMS_PER_USER", "LIVE_STREAMS_MAX",
	"EVENTS_TRANSPORT", "EVENTS_PUBLISH", "DAPR_HTTP_PORT", "DAPR_PUBSUB", "DAPR_API_TOKEN",
	"REMINDERS", "REMINDER_MAX_LATENESS", "REMINDER_TRIGGER", "WEBHOOK_ALLOW_LOOPBACK", "WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_TIMEOUT",
	"WEBHOOK_RETRY_DELAYS", "WEBHOOK_RETRY_PERIOD", "WEBHOOK_DISABLE_AFTER",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
}

// Reminder triggers (REMINDER_TRIGGER): the scheduler's own timer, or a
// Dapr job per reminder through the sidecar's Jobs API.
const (
	ReminderTriggerTimer    = "timer"
	ReminderTriggerDaprJobs = "dapr-jobs"
)

// Event transports (EVENTS_TRANSPORT).
const (
	TransportKafka = "kafka" // the relay produces to Kafka itself
	TransportDapr  = "dapr"  // the relay publishes through the Dapr sidecar
)

// Config is every setting a function may use.
type Config struct {
	DatabaseURL     string
	DBMaxConns      int32
	KafkaBrokers    []string
	KafkaPartitions int32
	ConsumerGroup   string
	JWTSecret       string
	// JWKSURL is the key set of asymmetric tokens; Issuer and Audience,
	// when set, must be every token's iss and one of its aud.
	JWKSURL, Issuer, Audience string
	CORSOrigins               []string
	LogFormat                 string
	LogLevel                  string
	// TracesEndpoint is the OTLP/HTTP URL spans are exported to; empty,
	// tracing is off.
	TracesEndpoint  string
	RelayEnabled    bool
	Consume         bool
	OutboxRetention time.Duration
	// OutboxStream is whether the active relay reads new outbox rows from
	// the database's write-ahead log (logical decoding) when it can; off,
	// it polls the table. OutboxSlot names its replication slot (empty:
	// one named after the database).
	OutboxStream bool
	OutboxSlot   string

	// Transport is TransportKafka or TransportDapr; Publish false is the
	// rollback switch: events stay in the outbox until it is true again.
	Transport string
	Publish   bool
	// The Dapr sidecar: its HTTP port, pub/sub component and API token.
	DaprHTTPPort int
	DaprPubSub   string
	DaprAPIToken string

	// AppAPIToken authenticates pushed events; PushAuth is PushAuthToken or
	// PushAuthNone.
	AppAPIToken string
	PushAuth    string

	// Writes per second per user on the API, and pushes per second per
	// client; 0 turns a limit off.
	UserRate, PushRate float64

	// The reconciler's period (0: off) and how old a completion must be
	// before it steps in; how long processed event ids are kept.
	ReconcileEvery, ReconcileGrace, ProcessedRetention time.Duration
	// Tasks closed longer than ArchiveAfter ago are archived (0: never);
	// archived longer than ArchiveRetention ago, deleted (0: never).
	ArchiveAfter, ArchiveRetention time.Duration

	// Reminders runs the reminder scheduler (recur-task; one active among
	// replicas); a reminder that came due longer than ReminderMaxLateness
	// ago is marked missed instead of fired.
	Reminders           bool
	ReminderMaxLateness time.Duration
	// ReminderTrigger is what says a reminder is due: the scheduler's own
	// timer, or a Dapr job per reminder (ReminderTriggerDaprJobs).
	ReminderTrigger string

	// Open event streams (live-updates) allowed per user and in the
	// process.
	StreamsPerUser, StreamsTotal int

	// Webhooks are notify's delivery settings.
	Webhooks Webhooks

	HTTP HTTP
}

// HTTP holds the server's port, timeouts and header limit.
type HTTP struct {
	Port                                                  int
	ReadTimeout, WriteTimeout, IdleTimeout, HeaderTimeout time.Duration
	MaxHeaderBytes                                        int
	// MaxConns bounds the connections served at once (more wait to be
	// accepted), so clients cannot take every file descriptor.
	MaxConns int
	// DebugAddr, when set, is where the runtime profiles (net/http/pprof)
	// are served, apart from the function's port; MetricsAddr, when set,
	// where /metrics is (never on the function's port).
	DebugAddr, MetricsAddr string
	// ShutdownDelay is how long, after SIGTERM, the function still serves
	// while its readiness says no, so a load balancer stops sending before
	// the listener closes (Kubernetes removes a terminating pod from its
	// Service's endpoints at the same time as it signals it).
	ShutdownDelay time.Duration
}

// Webhooks are how notify delivers webhooks: which private addresses it
// may reach (loopback for development, private ranges on premises;
// link-local never), how long one attempt may take, and the retry
// schedule: the delays after each failed attempt (the last repeating),
// for how long a delivery is tried, and after how long of nothing but
// failures a webhook is disabled.
type Webhooks struct {
	AllowLoopback, AllowPrivate bool
	Timeout                     time.Duration
	RetryDelays                 []time.Duration
	RetryPeriod, DisableAfter   time.Duration
}

// Requirements says which settings a function requires.
type Requirements struct {
	Auth  bool // HTTP API functions verify tokens
	Relay bool // functions that write events run an outbox relay
	// Group is the consumer group when KAFKA_CONSUMER_GROUP is not set
	// (recur-task's when empty).
	Group string
}

// loader reads variables from env, collecting every error.
type loader struct {
	env  map[string]string
	errs []error
}

func (l *loader) get(k, def string) string {
	if v, ok := l.env[k]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

func (l *loader) int(name, def string, lo, hi int) int {
	v := l.get(name, def)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		l.fail("%s: %q is not a number between %d and %d", name, v, lo, hi)
	}
	return n
}

func (l *loader) bool(name, def string) bool {
	v := l.get(name, def)
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail("%s: %q is not true or false", name, v)
	}
	return b
}

// duration reads a duration; zero is accepted only when allowZero.
func (l *loader) duration(name, def string, allowZero bool) time.Duration {
	v := l.get(name, def)
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && !allowZero) {
		l.fail("%s: %q is not a positive duration like %s", name, v, def)
	}
	return d
}

func (l *loader) rate(name, def string) float64 {
	v := l.get(name, def)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e6 {
		l.fail("%s: %q is not a rate per second between 0 (off) and 1000000", name, v)
	}
	return f
}

// Load reads env (variable name → value) into a Config.
func Load(env map[string]string, req Requirements) (Config, error) {
	l := &loader{env: env}
	c := Config{
		DatabaseURL:   l.get("DATABASE_URL", ""),
		ConsumerGroup: l.get("KAFKA_CONSUMER_GROUP", cmp.Or(req.Group, "recur-task")),
		JWTSecret:     l.get("AUTH_JWT_SECRET", l.get("BETTER_AUTH_SECRET", "")),
		CORSOrigins:   ParseList(l.get("CORS_ORIGINS", "")),
		LogFormat:     l.get("LOG_FORMAT", "json"),
		LogLevel:      l.get("LOG_LEVEL", "info"),
		AppAPIToken:   l.get("APP_API_TOKEN", ""),
		PushAuth:      l.get("PUSH_AUTH", PushAuthToken),
		KafkaBrokers:  ParseList(l.get("KAFKA_BROKERS", "")),
		Transport:     l.get("EVENTS_TRANSPORT", TransportKafka),
		DaprPubSub:    l.get("DAPR_PUBSUB", "kafka-pubsub"),
		DaprAPIToken:  l.get("DAPR_API_TOKEN", ""),
	}
	c.Publish = l.bool("EVENTS_PUBLISH", "true")
	c.TracesEndpoint = l.traces()
	c.DaprHTTPPort = l.int("DAPR_HTTP_PORT", "3500", 1, 65535)
	c.DBMaxConns = int32(l.int("DB_MAX_CONNS", "10", 1, 1000))
	c.KafkaPartitions = int32(l.int("KAFKA_PARTITIONS", "3", 1, 1000))
	c.RelayEnabled = l.bool("OUTBOX_RELAY", "true")
	c.Consume = l.bool("KAFKA_CONSUME", "true")
	c.OutboxRetention = l.duration("OUTBOX_RETENTION", "24h", false)
	c.OutboxStream = l.get("OUTBOX_STREAM", "auto") == "auto"
	if v := l.get("OUTBOX_STREAM", "auto"); v != "auto" && v != "off" {
		l.fail("OUTBOX_STREAM: %q is not auto (stream when the database allows, else poll) or off (poll)", v)
	}
	c.OutboxSlot = l.get("OUTBOX_SLOT", "")
	if !slotName.MatchString(c.OutboxSlot) {
		l.fail("OUTBOX_SLOT: %q is not a replication slot name (1 to 63 lower-case letters, digits and _)", c.OutboxSlot)
	}
	c.UserRate = l.rate("RATE_LIMIT_PER_USER", "20")
	c.PushRate = l.rate("RATE_LIMIT_PUSH_PER_CLIENT", "1000")
	c.ReconcileEvery = l.duration("RECONCILE_EVERY", "1m", true)
	c.ReconcileGrace = l.duration("RECONCILE_GRACE", "2m", false)
	c.ProcessedRetention = l.duration("PROCESSED_EVENTS_RETENTION", "168h", false)
	c.ArchiveAfter = l.atLeastHour("ARCHIVE_AFTER", "2160h")
	c.ArchiveRetention = l.atLeastHour("ARCHIVE_RETENTION", "0")
	c.Reminders = l.bool("REMINDERS", "true")
	c.ReminderMaxLateness = l.duration("REMINDER_MAX_LATENESS", "24h", false)
	c.ReminderTrigger = l.get("REMINDER_TRIGGER", ReminderTriggerTimer)
	if c.ReminderTrigger != ReminderTriggerTimer && c.ReminderTrigger != ReminderTriggerDaprJobs {
		l.fail("REMINDER_TRIGGER: %q is not %s or %s", c.ReminderTrigger, ReminderTriggerTimer, ReminderTriggerDaprJobs)
	}
	c.StreamsPerUser = l.int("LIVE_STREAMS_PER_USER", "20", 1, 100000)
	c.StreamsTotal = l.underFileLimit("LIVE_STREAMS_MAX", min(10000, OpenFileLimit()/2), OpenFileLimit()/2)
	c.Webhooks = l.webhooks()
	c.HTTP = l.http()
	if c.DatabaseURL == "" {
		l.fail("DATABASE_URL is required (postgres://user:pass@host:5432/db)")
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		l.fail("DATABASE_URL must be a postgres:// URL")
	}
	l.auth(&c, req)
	if c.AppAPIToken != "" && len(c.AppAPIToken) < MinSecretLen {
		l.fail("APP_API_TOKEN must be at least %d characters", MinSecretLen)
	}
	if c.Transport != TransportKafka && c.Transport != TransportDapr {
		l.fail("EVENTS_TRANSPORT: %q is not %s or %s", c.Transport, TransportKafka, TransportDapr)
	}
	if c.PushAuth != PushAuthToken && c.PushAuth != PushAuthNone {
		l.fail("PUSH_AUTH: %q is not %s or %s", c.PushAuth, PushAuthToken, PushAuthNone)
	}
	if c.ProcessedRetention < c.ReconcileGrace {
		l.fail("PROCESSED_EVENTS_RETENTION must be longer than RECONCILE_GRACE")
	}
	return c, errors.Join(l.errs...)
}

// auth reads how tokens are verified: an HS256 secret, a JWKS (from
// AUTH_JWKS_URL, or Better Auth's at BETTER_AUTH_URL/api/auth/jwks), or
// both; iss and aud default to BETTER_AUTH_URL, as Better Auth signs them.
func (l *loader) auth(c *Config, req Requirements) {
	site := strings.TrimRight(l.get("BETTER_AUTH_URL", ""), "/")
	c.JWKSURL = l.get("AUTH_JWKS_URL", "")
	if c.JWKSURL == "" && site != "" {
		c.JWKSURL = site + "/api/auth/jwks"
	}
	c.Issuer = l.get("AUTH_ISSUER", site)
	c.Audience = l.get("AUTH_AUDIENCE", site)
	for name, v := range map[string]string{"BETTER_AUTH_URL": site, "AUTH_JWKS_URL": c.JWKSURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			l.fail("%s must be an http(s) URL, not %q", name, v)
		}
	}
	switch {
	case c.JWTSecret != "" && len(c.JWTSecret) < MinSecretLen:
		l.fail("AUTH_JWT_SECRET (or BETTER_AUTH_SECRET) must be at least %d characters", MinSecretLen)
	case req.Auth && c.JWTSecret == "" && c.JWKSURL == "":
		l.fail("set AUTH_JWT_SECRET (HS256 tokens), or AUTH_JWKS_URL or BETTER_AUTH_URL (tokens signed by a JWKS key), or both")
	}
}

// webhooks reads notify's delivery settings.
func (l *loader) webhooks() Webhooks {
	w := Webhooks{
		AllowLoopback: l.bool("WEBHOOK_ALLOW_LOOPBACK", "false"),
		AllowPrivate:  l.bool("WEBHOOK_ALLOW_PRIVATE", "false"),
		Timeout:       l.duration("WEBHOOK_TIMEOUT", "5s", false),
		RetryPeriod:   l.duration("WEBHOOK_RETRY_PERIOD", "24h", false),
		DisableAfter:  l.duration("WEBHOOK_DISABLE_AFTER", "24h", false),
	}
	v := l.get("WEBHOOK_RETRY_DELAYS", "1s,5s,30s,2m,10m,1h")
	for _, s := range ParseList(v) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			l.fail("WEBHOOK_RETRY_DELAYS: %q is not a list of positive durations like 1s,5s,30s,2m,10m,1h", v)
			return w
		}
		w.RetryDelays = append(w.RetryDelays, d)
	}
	if len(w.RetryDelays) == 0 || len(w.RetryDelays) > 32 {
		l.fail("WEBHOOK_RETRY_DELAYS: give 1 to 32 delays, like 1s,5s,30s,2m,10m,1h")
	}
	if w.Timeout > time.Minute {
		l.fail("WEBHOOK_TIMEOUT: %s is too long for one attempt (at most 1m)", w.Timeout)
	}
	return w
}

// http reads the server's settings. The connection bound defaults to three
// quarters of the open-file limit and may not come within 64 of it (the
// database pool, the brokers and the process's own files need some).
func (l *loader) http() HTTP {
	return HTTP{
		Port:           l.int("PORT", "8080", 1, 65535),
		ReadTimeout:    l.duration("HTTP_READ_TIMEOUT", "30s", false),
		WriteTimeout:   l.duration("HTTP_WRITE_TIMEOUT", "30s", false),
		IdleTimeout:    l.duration("HTTP_IDLE_TIMEOUT", "2m", false),
		HeaderTimeout:  l.duration("HTTP_HEADER_TIMEOUT", "10s", false),
		MaxHeaderBytes: l.int("HTTP_MAX_HEADER_BYTES", "65536", 4096, 1<<20),
		MaxConns:       l.underFileLimit("HTTP_MAX_CONNS", OpenFileLimit()*3/4, OpenFileLimit()-64),
		DebugAddr:      l.addr("DEBUG_ADDR"),
		MetricsAddr:    l.addr("METRICS_ADDR"),
		ShutdownDelay:  l.shutdownDelay(),
	}
}

// atLeastHour reads a duration that is 0 (off) or at least an hour.
func (l *loader) atLeastHour(name, def string) time.Duration {
	d := l.duration(name, def, true)
	if d != 0 && d < time.Hour {
		l.fail("%s: %v is under an hour; use 0 for never", name, d)
	}
	return d
}

// shutdownDelay reads SHUTDOWN_DELAY: at most 30 s, so draining still fits
// in a platform's grace period with the rest of the shutdown.
func (l *loader) shutdownDelay() time.Duration {
	d := l.duration("SHUTDOWN_DELAY", "0s", true)
	if d > 30*time.Second {
		l.fail("SHUTDOWN_DELAY: %v is longer than 30s; the rest of the shutdown must still fit in the grace period", d)
	}
	return d
}

// underFileLimit reads a count of things that each hold a file descriptor
// (connections, streams), def by default, at most limit (a share of the
// open-file limit).
func (l *loader) underFileLimit(name string, def, limit int) int {
	n := l.int(name, strconv.Itoa(max(1, def)), 1, 1<<30)
	if n > max(1, limit) {
		l.fail("%s: %d would come too close to the open-file limit of %d; lower it to at most %d, or raise the limit (ulimit -n, a container's nofile)",
			name, n, OpenFileLimit(), max(1, limit))
	}
	return n
}

// traces reads where spans go, by the OpenTelemetry variables: the traces
// endpoint as given, or the base endpoint with /v1/traces; none (tracing
// off) without either, or with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none.
func (l *loader) traces() string {
	if l.bool("OTEL_SDK_DISABLED", "false") {
		return ""
	}
	switch v := l.get("OTEL_TRACES_EXPORTER", "otlp"); v {
	case "none":
		return ""
	case "otlp":
	default:
		l.fail("OTEL_TRACES_EXPORTER: %q is not otlp or none", v)
	}
	name, endpoint := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", l.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if endpoint == "" {
		name, endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT", l.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
		if endpoint == "" {
			return ""
		}
		endpoint = strings.TrimSuffix(endpoint, "/") + "/v1/traces"
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail("%s: %q is not an http(s) URL like http://127.0.0.1:4318 (spans are exported by OTLP/HTTP)", name, endpoint)
		return ""
	}
	return endpoint
}

// addr reads an optional listen address (host:port).
func (l *loader) addr(name string) string {
	v := l.get(name, "")
	if v == "" {
		return ""
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		l.fail("%s: %q is not a listen address like 127.0.0.1:6060", name, v)
	}
	return v
}

// LoadHTTP reads only the server settings (for the process that serves a
// function, before the function reads the rest).
func LoadHTTP(env map[string]string) (HTTP, error) {
	l := &loader{env: env}
	h := l.http()
	return h, errors.Join(l.errs...)
}

// Server returns an HTTP server for handler with these timeouts and limits:
// a client that trickles its headers or body, or idles, is cut off.
func (h HTTP) Server(handler http.Handler) *http.Server {
	return &http.Server{Handler: handler, ReadTimeout: h.ReadTimeout, WriteTimeout: h.WriteTimeout,
		IdleTimeout: h.IdleTimeout, ReadHeaderTimeout: h.HeaderTimeout, MaxHeaderBytes: h.MaxHeaderBytes}
}

// ParseList reads a comma-separated list (origins, brokers), dropping
// blanks and trailing slashes.
func ParseList(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}
