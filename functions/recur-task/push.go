package function

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/dapr"
	"github.com/todoevents/todo/shared/events"
	"github.com/todoevents/todo/shared/httpx"
)

// PushHandler receives CloudEvents pushed over HTTP (binary or structured),
// as Knative and Dapr deliver them.
type PushHandler struct {
	Recurrer *Recurrer
	// Reminders fires the due reminders when a tick comes (nil: this
	// process schedules no reminders).
	Reminders *Scheduler
	// Auth is config.PushAuthToken (Token required) or config.PushAuthNone.
	Auth  string
	Token string
	// Limit is the per-client push rate limit (nil: none).
	Limit httpx.Limiter
	// PubSub is the Dapr pub/sub component the programmatic subscription
	// names.
	PubSub string
}

// pushReply is the body push platforms read: Dapr acts on status
// (SUCCESS, RETRY, DROP); Knative on the HTTP status.
type pushReply struct {
	Status  string `json:"status"`
	Outcome string `json:"outcome,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Routes are the function's HTTP API: POST / (Knative and other pushers),
// and for Dapr its route, its programmatic subscription and its app
// configuration.
func (p PushHandler) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodPost, Pattern: "/{$}", Handler: p.receive(false)},
		{Method: http.MethodPost, Pattern: dapr.Route, Handler: p.receive(true)},
		{Method: http.MethodPost, Pattern: dapr.JobRoute, Handler: p.job},
		{Method: http.MethodGet, Pattern: "/dapr/subscribe", Handler: p.subscribe},
		{Method: http.MethodGet, Pattern: "/dapr/config", Handler: p.daprConfig},
	}
}

func (p PushHandler) subscribe(w http.ResponseWriter, _ *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, []dapr.Subscription{dapr.CompletedSubscription(p.PubSub)})
	return nil
}

// daprConfig is the app configuration Dapr asks for at start: nothing to
// add to the defaults.
func (p PushHandler) daprConfig(w http.ResponseWriter, _ *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, struct{}{})
	return nil
}

// receive handles one pushed event. The pusher must present the app token.
// Success, duplicates and stale events answer 200 SUCCESS; transient
// failures answer 503 RETRY so the platform redelivers. Poison events are
// dead-lettered (with the reason) and answer 200 DROP, except to Dapr,
// which dead-letters a DROPped event a second time without the reason: it
// gets SUCCESS with outcome dead-lettered, so there is one dead letter.
func (p PushHandler) receive(toDapr bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return p.handle(w, r, toDapr) }
}

func (p PushHandler) handle(w http.ResponseWriter, r *http.Request, toDapr bool) error {
	if err := p.admit(r); err != nil {
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
	if e.Type() == TypeTick {
		return p.tick(w, r)
	}
	outcome, err := p.Recurrer.Process(r.Context(), *e)
	switch {
	case err == nil:
		httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "SUCCESS", Outcome: string(outcome)})
	case poison(err):
		if dlErr := p.Recurrer.DeadLetter(r.Context(), pushedInput(r, *e, err), pushedKey(*e)); dlErr != nil {
			w.Header().Set("Retry-After", "1")
			httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: "could not dead-letter the event"})
			return nil
		}
		if toDapr {
			httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "SUCCESS", Outcome: "dead-lettered", Error: reason(err)})
			return nil
		}
		httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "DROP", Error: reason(err)})
	default:
		w.Header().Set("Retry-After", "1")
		httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: apperr.As(err).Message})
	}
	return nil
}

// TypeTick is the type of the events a Knative PingSource sends: a tick
// says "look at the reminders now", nothing more. It wakes a recur-task
// scaled to zero (the scheduler's own timer is precise while it runs).
const TypeTick = "dev.knative.sources.ping"

// tick fires the reminders due now, as the elected scheduler would: the
// database says what is due, and a reminder fires once however many ticks
// and schedulers look at the same time. Its outcome says how many fired.
func (p PushHandler) tick(w http.ResponseWriter, r *http.Request) error {
	if p.Reminders == nil {
		httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "SUCCESS", Outcome: "reminders-off"})
		return nil
	}
	fired, err := p.Reminders.FireDue(r.Context())
	if err != nil {
		w.Header().Set("Retry-After", "1")
		httpx.WriteJSON(w, http.StatusServiceUnavailable, pushReply{Status: "RETRY", Error: apperr.As(err).Message})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, pushReply{Status: "SUCCESS", Outcome: "reminders-fired-" + strconv.Itoa(fired)})
	return nil
}

// job is a Dapr job's callback (REMINDER_TRIGGER=dapr-jobs): a reminder's
// job came due. Like a tick it only says "look now": what is due is fired
// from the database, so a duplicate, late or stale job changes nothing.
// The sidecar presents the app token.
func (p PushHandler) job(w http.ResponseWriter, r *http.Request) error {
	if err := p.admit(r); err != nil {
		return err
	}
	return p.tick(w, r)
}

// admit applies the per-client push rate limit and the app token.
func (p PushHandler) admit(r *http.Request) error {
	if p.Limit != nil {
		ok, wait := p.Limit.Allow(clientOf(r))
		if err := httpx.Limit(ok, wait); err != nil {
			return err
		}
	}
	return p.authorize(r)
}

// authorize accepts the app token in dapr-api-token (what Dapr sends) or
// as a bearer token. Without a configured token every push is refused,
// unless PUSH_AUTH=none says the platform already restricts access.
func (p PushHandler) authorize(r *http.Request) error {
	if p.Auth == config.PushAuthNone {
		return nil
	}
	if p.Token == "" {
		return apperr.New(apperr.Unauthorized, "push delivery is off: no APP_API_TOKEN is configured")
	}
	given := r.Header.Get("dapr-api-token")
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); given == "" && ok && strings.EqualFold(scheme, "Bearer") {
		given = strings.TrimSpace(tok)
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(p.Token)) != 1 {
		return apperr.New(apperr.Unauthorized, "missing or wrong app token (dapr-api-token or Authorization: Bearer)")
	}
	return nil
}

// reason is what a pusher is told about a poison event: the decoder's
// reason, or the client-safe message of our own error.
func reason(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

// pushedInput is what a dead letter of pushed event e keeps.
func pushedInput(r *http.Request, e cloudevents.Event, why error) events.DeadLetterData {
	raw, err := e.MarshalJSON()
	if err != nil {
		raw = e.Data()
	}
	return events.DeadLetterData{Reason: why.Error(), Origin: "http push", ContentType: r.Header.Get("Content-Type"), Raw: raw}
}

// pushedKey is e's partitionkey when that is a plausible user id.
func pushedKey(e cloudevents.Event) string {
	key, _ := e.Extensions()[events.ExtPartitionKey].(string)
	if len(key) > 255 || !utf8.ValidString(key) {
		return ""
	}
	return key
}

// clientOf is the rate-limit key of a pusher: its address without the port.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
