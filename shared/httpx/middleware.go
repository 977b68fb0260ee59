package httpx

import (
	"context"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/apperr"
)

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Wrap adds, outermost first: request id, a logger carrying it, one log
// line per request, panic recovery into a 500 JSON error, and CORS.
func Wrap(h http.Handler, log zerolog.Logger, cors func(http.Handler) http.Handler) http.Handler {
	return withRequestID(log, withAccessLog(recoverPanics(cors(h))))
}

func withRequestID(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 || strings.ContainsAny(id, "\r\n") {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		l := log.With().Str("request_id", id).Logger()
		ctx := context.WithValue(l.WithContext(r.Context()), requestIDKey{}, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		zerolog.Ctx(r.Context()).Info().Str("method", r.Method).Str("path", r.URL.Path).
			Int("status", rec.status).Int("bytes", rec.bytes).Dur("duration", time.Since(start)).
			Msg("request")
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
