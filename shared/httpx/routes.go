package httpx

import (
	"net/http"
	"strings"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/task"
)

// Route is one method and path pattern of a function's API and its handler.
type Route struct {
	Method, Pattern string
	Handler         HandlerFunc
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
		mux.Handle(pattern, wrap(MethodNotAllowed(strings.Join(methods, ", "))))
	}
	if _, ok := allowed["/"]; !ok {
		mux.Handle("/", wrap(http.HandlerFunc(NotFound)))
	}
	return mux
}

// Serve builds the handler of routes inside the middleware mw.
func Serve(mw Middleware, routes ...Route) http.Handler {
	same := func(h http.Handler) http.Handler { return h }
	return mw.Wrap(NewMux(routes, func(rt Route) http.Handler { return rt.Handler }, same))
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
