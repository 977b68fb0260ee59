package app

import (
	"net/http"
	"strings"
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

// API builds a function's HTTP handler: its routes, JSON 405s for other
// methods on the same paths, JSON 404s elsewhere, inside the shared
// middleware.
func (d *Deps) API(routes ...Route) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for pattern, methods := range allowed {
		mux.Handle(pattern, httpx.MethodNotAllowed(strings.Join(methods, ", ")))
	}
	if _, ok := allowed["/"]; !ok {
		mux.HandleFunc("/", httpx.NotFound)
	}
	return httpx.Wrap(mux, d.Log, httpx.CORS{Origins: d.Config.CORSOrigins})
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

// TaskID returns the {id} of r's path; an id that is not a UUID names no
// task.
func TaskID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !task.IsUUID(id) {
		return "", apperr.New(apperr.NotFound, "task %s not found", id)
	}
	return strings.ToLower(id), nil
}
