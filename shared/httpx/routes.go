package httpx

import (
	"net/http"
	"slices"
	"strings"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/task"
)

// Route is one method and path pattern of a function's API and its handler.
type Route struct {
	Method, Pattern string
	Handler         HandlerFunc
}

// methods are the methods a path without them answers with 405. HEAD is
// left to GET where the path has GET.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect}

// NewMux serves each route by serve(route), answers another method on a
// known path with a JSON 405 whose Allow header lists every method the
// path has, and an unknown path with a JSON 404; those two answers go
// through wrap. The 405s are registered per method, so a literal path
// (/tasks/stats) may sit beside a wildcard one (/tasks/{id}) that has
// other methods.
func NewMux(routes []Route, serve func(Route) http.Handler, wrap func(http.Handler) http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Pattern, serve(rt))
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for pattern, have := range allowed {
		refuse := wrap(MethodNotAllowed(strings.Join(have, ", ")))
		for _, m := range methods {
			if !slices.Contains(have, m) && (m != http.MethodHead || !slices.Contains(have, http.MethodGet)) {
				mux.Handle(m+" "+pattern, refuse)
			}
		}
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
