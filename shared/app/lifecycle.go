package app

import (
	"context"
	"net/http"

	"github.com/todoevents/todo/shared/config"
)

// Lifecycle gives a function the Stop, Ready and Handle methods of the
// Knative function shape once its dependencies and handler are set.
type Lifecycle struct {
	Deps    *Deps
	Handler http.Handler
	routes  []Route
}

// Serve sets the function's dependencies and the routes it serves.
func (l *Lifecycle) Serve(d *Deps, routes ...Route) {
	l.Deps, l.routes, l.Handler = d, routes, d.API(routes...)
}

// Routes returns the routes the function serves (for a gateway in front of
// several functions).
func (l *Lifecycle) Routes() []Route { return l.routes }

// Stop releases the function's dependencies.
func (l *Lifecycle) Stop(context.Context) error {
	if l.Deps != nil {
		l.Deps.Close()
	}
	return nil
}

// Ready reports whether the database answers.
func (l *Lifecycle) Ready(ctx context.Context) (bool, error) {
	if l.Deps == nil {
		return false, nil
	}
	err := l.Deps.Store.Ping(ctx)
	return err == nil, err
}

// Handle serves a request.
func (l *Lifecycle) Handle(w http.ResponseWriter, r *http.Request) {
	l.Handler.ServeHTTP(w, r)
}

// Metrics serves the function's metrics in the Prometheus text format.
func (l *Lifecycle) Metrics() http.Handler { return l.Deps.Metrics.Handler() }

// Open connects the dependencies of function name from env and hands them
// to init, which builds the function's handler.
func (l *Lifecycle) Open(ctx context.Context, name string, env map[string]string, needs config.Needs, init func(*Deps)) error {
	deps, err := Open(ctx, name, env, needs)
	if err != nil {
		return err
	}
	init(deps)
	return nil
}
