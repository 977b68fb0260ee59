package httpx

import (
	"context"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/tracing"
)

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Middleware is what every function's HTTP handler runs inside.
type Middleware struct {
	Log zerolog.Logger
	// CORS wraps the handler (see CORS); nil adds no CORS headers.
	CORS func(http.Handler) http.Handler
	// Requests observes each request's latency by method, route and
	// status (optional).
	Requests *prometheus.HistogramVec
	// Tracing, when on, makes a server span per request (named by its
	// route, continuing the caller's traceparent) and puts its trace_id and
	// span_id on the request's log lines; off (nil), it costs nothing.
	Tracing *tracing.Tracing
}

// Wrap adds, outermost first: the logger (zerolog's hlog), a request id
// (the client's X-Request-Id or a new one) on the logger and the response,
// the request's span (when tracing is on), one access-log line and latency
// observation per request, panic recovery into a 500 JSON error, and CORS.
func (m Middleware) Wrap(h http.Handler) http.Handler {
	if m.CORS != nil {
		h = m.CORS(h)
	}
	h = recoverPanics(h)
	h = hlog.AccessHandler(m.observe)(h)
	if m.Tracing.On() {
		h = otelhttp.NewHandler(withSpanIDs(h), "http", otelhttp.WithTracerProvider(m.Tracing.Provider()),
			otelhttp.WithPropagators(tracing.Propagator), otelhttp.WithMeterProvider(noop.NewMeterProvider()))
	}
	h = withRequestID(h)
	return hlog.NewHandler(m.Log)(h)
}

// withSpanIDs puts the request span's ids on the request's logger and,
// once routed, its route on the span (the span is named by it).
func withSpanIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		sc := span.SpanContext()
		hlog.FromRequest(r).UpdateContext(func(c zerolog.Context) zerolog.Context {
			return c.Str("trace_id", sc.TraceID().String()).Str("span_id", sc.SpanID().String())
		})
		next.ServeHTTP(w, r)
		if _, route, ok := strings.Cut(r.Pattern, " "); ok {
			span.SetAttributes(semconv.HTTPRoute(route))
		}
	})
}

func (m Middleware) observe(r *http.Request, status, size int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	hlog.FromRequest(r).Info().Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
		Int("bytes", size).Dur("duration", d).Msg("request")
	if m.Requests != nil {
		m.Requests.WithLabelValues(MethodLabel(r.Method), RouteLabel(r), StatusClass(status)).Observe(d.Seconds())
	}
}

// knownMethods are the methods a metric label may name.
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodTrace: true, http.MethodConnect: true}

// The labels of request metrics come from closed sets, never from what a
// client sends, so no client can grow the number of series (each is kept
// for the life of the process).

// MethodLabel is method if it is a standard one, else "other".
func MethodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "other"
}

// RouteLabel is the pattern of the route that served r (one of the
// function's own), or "unmatched".
func RouteLabel(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// StatusClass is the class of an HTTP status: "2xx", "4xx", ...
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 || strings.ContainsAny(id, "\r\n") {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		hlog.FromRequest(r).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("request_id", id) })
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				zerolog.Ctx(r.Context()).Error().Interface("panic", v).Bytes("stack", debug.Stack()).Msg("panic recovered")
				WriteError(w, r, apperr.New(apperr.Internal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// NotFound answers unmatched routes with a JSON 404.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apperr.New(apperr.NotFound, "no route for %s %s", r.Method, r.URL.Path))
}

// MethodNotAllowed answers a known path with a method it does not serve.
func MethodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		WriteError(w, r, apperr.New(apperr.MethodNotAllowed, "method %s not allowed; use %s", r.Method, allow))
	}
}
