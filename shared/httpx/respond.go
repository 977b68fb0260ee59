// Package httpx holds the HTTP plumbing every function shares: JSON
// responses and errors, strict body decoding, and middleware for request
// ids, logging, panic recovery and CORS.
package httpx

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/todoevents/todo/shared/apperr"
)

// statusOf is the single error code → HTTP status table.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unauthorized:     http.StatusUnauthorized,
	apperr.Forbidden:        http.StatusForbidden,
	apperr.NotFound:         http.StatusNotFound,
	apperr.MethodNotAllowed: http.StatusMethodNotAllowed,
	apperr.Conflict:         http.StatusConflict,
	apperr.StaleVersion:     http.StatusPreconditionFailed,
	apperr.KeyReused:        http.StatusUnprocessableEntity,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.RateLimited:      http.StatusTooManyRequests,
	apperr.Unavailable:      http.StatusServiceUnavailable,
	apperr.Internal:         http.StatusInternalServerError,
}

// StatusOf maps an error code to its HTTP status (500 for unknown codes).
func StatusOf(code apperr.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrorBody is the one shape of every error response. Detail repeats the
// message for clients written against FastAPI-style backends.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	Detail    string      `json:"detail"`
	RequestID string      `json:"request_id,omitempty"`
}

// ErrorDetail names the code, a client-safe message and the offending field.
type ErrorDetail struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
}

// WriteError maps err to its status and writes the JSON error body. Causes
// are logged, never sent.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.As(err)
	status := StatusOf(e.Code)
	log := zerolog.Ctx(r.Context())
	if status >= 500 {
		log.Error().Err(err).Str("code", string(e.Code)).Msg("request failed")
	} else {
		log.Debug().Err(err).Str("code", string(e.Code)).Msg("request rejected")
	}
	switch {
	case e.RetryAfter > 0:
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	case e.Code == apperr.Unavailable:
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, status, ErrorBody{
		Error:     ErrorDetail{Code: e.Code, Message: e.Message, Field: e.Field},
		Detail:    e.Message,
		RequestID: RequestID(r.Context()),
	})
}

// HandlerFunc is a handler that returns its error; the error becomes the
// JSON error response.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// retrySeconds is d as the whole seconds of a Retry-After header: rounded
// up, at least 1.
func retrySeconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
