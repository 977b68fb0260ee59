package function

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
	"github.com/todoevents/todo/shared/webhook"
)

// Webhooks is what the API needs of the database. Another user's webhook
// is not found.
type Webhooks interface {
	CreateWebhook(ctx context.Context, w webhook.Webhook) (webhook.Webhook, error)
	ListWebhooks(ctx context.Context, userID string) ([]webhook.Webhook, error)
	GetWebhook(ctx context.Context, userID, id string) (webhook.Webhook, error)
	DeleteWebhook(ctx context.Context, userID, id string) error
	ListDeliveries(ctx context.Context, userID, id string, limit int) ([]webhook.Delivery, error)
}

// Deliveries listed by default and at most.
const (
	DefaultDeliveries = 50
	MaxDeliveries     = 200
)

// API serves a user's webhooks.
type API struct {
	Webhooks  Webhooks
	Addresses Addresses
	Guard     httpx.Guard
	Now       func() time.Time
}

// Routes are the webhooks API.
func (a API) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodPost, Pattern: "/api/{user_id}/webhooks", Handler: a.create},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/webhooks", Handler: a.list},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/webhooks/{id}", Handler: a.get},
		{Method: http.MethodDelete, Pattern: "/api/{user_id}/webhooks/{id}", Handler: a.delete},
		{Method: http.MethodGet, Pattern: "/api/{user_id}/webhooks/{id}/deliveries", Handler: a.deliveries},
	}
}

// registration is the body of POST /api/{user_id}/webhooks.
type registration struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// create registers a webhook and answers it with its secret, shown this
// once. The URL's host must resolve to addresses webhooks may reach.
func (a API) create(w http.ResponseWriter, r *http.Request) error {
	user, err := a.Guard.User(r)
	if err != nil {
		return err
	}
	var body registration
	if _, err := httpx.DecodeJSON(r, &body, false); err != nil {
		return err
	}
	d, err := webhook.ParseDraft(body.URL, body.Events)
	if err != nil {
		return err
	}
	if err := a.Addresses.CheckURL(r.Context(), d.URL); err != nil {
		return err
	}
	secret, err := newSecret()
	if err != nil {
		return err
	}
	hook, err := a.Webhooks.CreateWebhook(r.Context(), webhook.Webhook{ID: uuid.NewString(), UserID: user, URL: d.URL.String(),
		Events: d.Events, Secret: secret, CreatedAt: a.Now()})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/"+url.PathEscape(user)+"/webhooks/"+hook.ID)
	httpx.WriteJSON(w, http.StatusCreated, hook)
	return nil
}

// newSecret is a signing secret in the Standard Webhooks form: whsec_ and
// the base64 of 32 random bytes.
func newSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "no randomness for a secret")
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

func (a API) list(w http.ResponseWriter, r *http.Request) error {
	user, err := a.Guard.User(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	hooks, err := a.Webhooks.ListWebhooks(r.Context(), user)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Webhooks []webhook.Webhook `json:"webhooks"`
	}{hooks})
	return nil
}

// hookOf is the user and webhook id of r's path; an id that is not a UUID
// names no webhook.
func (a API) hookOf(r *http.Request) (user, id string, err error) {
	if user, err = a.Guard.User(r); err != nil {
		return "", "", err
	}
	id = r.PathValue("id")
	if !task.IsUUID(id) {
		return "", "", apperr.New(apperr.NotFound, "webhook %s not found", id)
	}
	return user, strings.ToLower(id), nil
}

func (a API) get(w http.ResponseWriter, r *http.Request) error {
	user, id, err := a.hookOf(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	hook, err := a.Webhooks.GetWebhook(r.Context(), user, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, hook)
	return nil
}

// delete removes a webhook; its pending deliveries are not sent.
func (a API) delete(w http.ResponseWriter, r *http.Request) error {
	user, id, err := a.hookOf(r)
	if err != nil {
		return err
	}
	if err := a.Webhooks.DeleteWebhook(r.Context(), user, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deliveries lists a webhook's newest deliveries (?limit=N).
func (a API) deliveries(w http.ResponseWriter, r *http.Request) error {
	user, id, err := a.hookOf(r)
	if err != nil {
		return err
	}
	q, err := query(r, "limit")
	if err != nil {
		return err
	}
	limit := DefaultDeliveries
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxDeliveries {
			return apperr.Field("limit", "must be 1 to %d", MaxDeliveries)
		}
	}
	list, err := a.Webhooks.ListDeliveries(r.Context(), user, id, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Deliveries []webhook.Delivery `json:"deliveries"`
	}{list})
	return nil
}

// query parses r's query string, refusing parameters other than known (a
// strict API: nothing is silently ignored).
func query(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "malformed query string")
	}
	for name := range q {
		if !slices.Contains(known, name) {
			return nil, apperr.Field(name, "unknown query parameter (known: %s)", cmp.Or(strings.Join(known, ", "), "none"))
		}
	}
	return q, nil
}
