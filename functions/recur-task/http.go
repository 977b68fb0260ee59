package function

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/todoevents/todo/shared/app"
	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
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
// The pusher must present the app token. Success, duplicates and stale
// events answer 200 SUCCESS; poison events are dead-lettered through the
// outbox and answer 200 DROP; transient failures answer 503 RETRY so the
// platform redelivers.
func (f *Function) receive(w http.ResponseWriter, r *http.Request) error {
	ok, wait := f.pushLimit.Allow(clientOf(r))
	if err := app.Limit(w, ok, wait); err != nil {
		return err
	}
	if err := f.authorizePush(r); err != nil {
		return err
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
		if dlErr := f.deadLetterPushed(r, *e, err.Error()); dlErr != nil {
			f.Deps.Log.Warn().Err(dlErr).Str("event_id", e.ID()).Msg("could not dead-letter a pushed event")
			httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: "could not dead-letter the event"})
			return nil
		}
		httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "DROP", Error: err.Error()})
	default:
		w.Header().Set("Retry-After", "1")
		httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: apperr.As(err).Message})
	}
	return nil
}

// authorizePush accepts the app token in dapr-api-token (what Dapr sends)
// or as a bearer token. Without a configured token every push is refused,
// unless PUSH_AUTH=none says the platform already restricts access.
func (f *Function) authorizePush(r *http.Request) error {
	cfg := f.Deps.Config
	if cfg.PushAuth == config.PushAuthNone {
		return nil
	}
	if cfg.AppAPIToken == "" {
		return apperr.New(apperr.Unauthorized, "push delivery is off: no APP_API_TOKEN is configured")
	}
	given := r.Header.Get("dapr-api-token")
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); given == "" && ok && strings.EqualFold(scheme, "Bearer") {
		given = strings.TrimSpace(tok)
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(cfg.AppAPIToken)) != 1 {
		return apperr.New(apperr.Unauthorized, "missing or wrong app token (dapr-api-token or Authorization: Bearer)")
	}
	return nil
}

// deadLetterPushed queues, through the outbox, a dead letter wrapping e as
// received, keyed by its partitionkey when that is a plausible user id.
func (f *Function) deadLetterPushed(r *http.Request, e cloudevents.Event, reason string) error {
	raw, err := e.MarshalJSON()
	if err != nil {
		raw = e.Data()
	}
	key, _ := e.Extensions()[events.ExtPartitionKey].(string)
	if len(key) > 255 || !utf8.ValidString(key) {
		key = ""
	}
	dl, err := events.DeadLetter(Name, "http push", key, r.Header.Get("Content-Type"), raw, reason, f.Deps.Now())
	if err != nil {
		return err
	}
	if err := f.Deps.Store.Enqueue(r.Context(), dl); err != nil {
		return err
	}
	f.deadLettered.Inc()
	f.Deps.WakeRelay()
	f.Deps.Log.Warn().Str("event_id", e.ID()).Str("dead_letter_id", dl.ID()).Str("reason", reason).Msg("pushed event dead-lettered")
	return nil
}

// clientOf is the rate-limit key of a pusher: its address without the port.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
