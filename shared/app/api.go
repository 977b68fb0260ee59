package app

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/task"
)

// Route is one method and path pattern of a function's API.
type Route struct {
	Method, Pattern string
	Handler         httpx.HandlerFunc
}

// NewMux serves each route by serve(route), answers another method on a
// known path with a JSON 405 whose Allow header lists every method the
// path has, and an unknown path with a JSON 404; those two answers go
// through wrap.
func NewMux(routes []Route, serve func(Route) http.Handler, wrap func(http.Handler) http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Pattern, serve(rt))
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for pattern, methods := range allowed {
		mux.Handle(pattern, wrap(httpx.MethodNotAllowed(strings.Join(methods, ", "))))
	}
	if _, ok := allowed["/"]; !ok {
		mux.Handle("/", wrap(http.HandlerFunc(httpx.NotFound)))
	}
	return mux
}

// API builds a function's HTTP handler from its routes inside the shared
// middleware.
func (d *Deps) API(routes ...Route) http.Handler {
	same := func(h http.Handler) http.Handler { return h }
	return d.Wrap(NewMux(routes, func(rt Route) http.Handler { return rt.Handler }, same))
}

// Wrap puts h inside the shared middleware: request ids, access log, panic
// recovery and CORS.
func (d *Deps) Wrap(h http.Handler) http.Handler {
	return httpx.Wrap(h, d.Log, httpx.CORS(d.Config.CORSOrigins))
}

// User authorizes r for the {user_id} of its path and returns it.
func (d *Deps) User(r *http.Request) (string, error) {
	user := r.PathValue("user_id")
	if user == "" || len(user) > 255 || !utf8.ValidString(user) || strings.ContainsRune(user, 0) {
		return "", apperr.Field("user_id", "must be 1 to 255 bytes of UTF-8 without NUL")
	}
	if err := d.Auth.Authorize(r, user); err != nil {
		return "", err
	}
	return user, nil
}

// Writer is User for a request that changes data: it also takes a token
// from the user's write rate limit (RATE_LIMIT_PER_USER).
func (d *Deps) Writer(w http.ResponseWriter, r *http.Request) (string, error) {
	user, err := d.User(r)
	if err != nil {
		return "", err
	}
	ok, wait := d.UserLimit.Allow(user)
	return user, Limit(w, ok, wait)
}

// Limit turns a refused rate-limit token into a 429 error with a
// Retry-After header (whole seconds, at least 1).
func Limit(w http.ResponseWriter, ok bool, wait time.Duration) error {
	if ok {
		return nil
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
	return apperr.New(apperr.RateLimited, "too many requests; retry in %.1fs", wait.Seconds())
}

// TaskID returns the {id} of r's path; an id that is not a UUID names no
// task.
func TaskID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !task.IsUUID(id) {
		return "", apperr.New(apperr.NotFound, "task %s not found", id)
	}
	return strings.ToLower(id), nil
}
