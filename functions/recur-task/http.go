package function

import (
	"crypto/subtle"
	"errors"
	"net/http"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
)

// pushReply is the body push platforms read: Dapr acts on status
// (SUCCESS, RETRY, DROP); Knative on the HTTP status.
type pushReply struct {
	Status  string `json:"status"`
	Outcome string `json:"outcome,omitempty"`
	Error   string `json:"error,omitempty"`
}

// receive handles a CloudEvent pushed over HTTP (binary or structured).
// Success and duplicates answer 200 SUCCESS; poison events are dead-lettered
// through the outbox and answer 200 DROP; transient failures answer 503
// RETRY so the platform redelivers.
func (f *Function) receive(w http.ResponseWriter, r *http.Request) error {
	if token := f.Deps.Config.AppAPIToken; token != "" &&
		subtle.ConstantTimeCompare([]byte(r.Header.Get("dapr-api-token")), []byte(token)) != 1 {
		return apperr.New(apperr.Unauthorized, "missing or wrong dapr-api-token")
	}
	r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBody)
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return apperr.New(apperr.TooLarge, "event exceeds %d bytes", httpx.MaxBody)
		}
		return apperr.Wrap(apperr.Invalid, err, "request is not a CloudEvent: "+err.Error())
	}
	outcome, err := f.process(r.Context(), *e)
	switch {
	case err == nil:
		httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "SUCCESS", Outcome: string(outcome)})
	case errors.Is(err, events.ErrPoison):
		if dlErr := f.Deps.Store.EnqueueDeadLetter(r.Context(), *e, err.Error()); dlErr != nil {
			httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: "could not dead-letter the event"})
			return nil
		}
		f.deadLettered.Inc()
		f.Deps.WakeRelay()
		httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "DROP", Error: err.Error()})
	default:
		w.Header().Set("Retry-After", "1")
		httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: apperr.As(err).Message})
	}
	return nil
}
