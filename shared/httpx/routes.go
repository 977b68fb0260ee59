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

// userScoped is the start of the routes that act for the user of their
// path; their twins without the user segment (/api/tasks…, /api/tags,
// /api/recurrence/…) act for the token's subject. A path in that family
// always means the twin: a user whose id is "tasks" uses the twins (the
// same calls).
const userScoped = "/api/{user_id}/"

// twinRoots are the first segments after /api/ of the routes that have a
// twin without the user segment.
var twinRoots = []string{"tasks", "tags", "recurrence"}

// Twin is the pattern of a route's twin without the user segment, or ""
// when it has none.
func Twin(pattern string) string {
	rest, ok := strings.CutPrefix(pattern, userScoped)
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	if !slices.Contains(twinRoots, first) {
		return ""
	}
	return "/api/" + rest
}

// IsTwin reports whether a request path belongs to the family without the
// user segment.
func IsTwin(path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rest, "/")
	return slices.Contains(twinRoots, first)
}

// Mux routes a request to the routes of its family: those under
// /api/{user_id}/ and everything else, or their twins without the user
// segment (two ServeMuxes, since the two families overlap: /api/tasks/tags
// is the twin of GET /api/{user_id}/tasks/{id} and also the path of user
// "tasks"'s tags).
type Mux struct {
	main, twins *http.ServeMux
}

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if IsTwin(r.URL.Path) {
		m.twins.ServeHTTP(w, r)
		return
	}
	m.main.ServeHTTP(w, r)
}

// Handle registers a pattern outside the API's families (health checks).
func (m *Mux) Handle(pattern string, h http.Handler) { m.main.Handle(pattern, h) }

// NewMux serves each route by serve(route), and each route under
// /api/{user_id}/tasks, /tags or /recurrence also without the user
// segment; it answers another method on a known path with a JSON 405
// whose Allow header lists every method the path has, and an unknown path
// with a JSON 404; those two answers go through wrap. The 405s are
// registered per method, so a literal path (/tasks/stats) may sit beside a
// wildcard one (/tasks/{id}) that has other methods.
func NewMux(routes []Route, serve func(Route) http.Handler, wrap func(http.Handler) http.Handler) *Mux {
	m := &Mux{main: http.NewServeMux(), twins: http.NewServeMux()}
	allowed := map[*http.ServeMux]map[string][]string{m.main: {}, m.twins: {}}
	add := func(mux *http.ServeMux, method, pattern string, h http.Handler) {
		mux.Handle(method+" "+pattern, h)
		allowed[mux][pattern] = append(allowed[mux][pattern], method)
	}
	for _, rt := range routes {
		h := serve(rt)
		add(m.main, rt.Method, rt.Pattern, h)
		if twin := Twin(rt.Pattern); twin != "" {
			add(m.twins, rt.Method, twin, h)
		}
	}
	for mux, paths := range allowed {
		for pattern, have := range paths {
			refuse := wrap(MethodNotAllowed(strings.Join(have, ", ")))
			for _, method := range methods {
				if !slices.Contains(have, method) && (method != http.MethodHead || !slices.Contains(have, http.MethodGet)) {
					mux.Handle(method+" "+pattern, refuse)
				}
			}
		}
		if _, ok := paths["/"]; !ok {
			mux.Handle("/", wrap(http.HandlerFunc(NotFound)))
		}
	}
	return m
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
