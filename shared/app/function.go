package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
)

// Wire builds a function from its runtime: the routes it serves. It may
// start background work with rt.Go.
type Wire func(rt *Runtime) []httpx.Route

// Function gives a function the Knative Go function shape (Start, Stop,
// Ready, Alive, Handle) around its Wire.
type Function struct {
	name    string
	needs   config.Needs
	wire    Wire
	rt      *Runtime
	routes  []httpx.Route
	handler http.Handler
}

// NewFunction returns the unstarted function name; Start connects what
// needs says and calls wire.
func NewFunction(name string, needs config.Needs, wire Wire) Function {
	return Function{name: name, needs: needs, wire: wire}
}

// Start connects the function using the environment env.
func (f *Function) Start(ctx context.Context, env map[string]string) error {
	if f.rt != nil {
		return errors.New(f.name + " already started")
	}
	rt, err := Open(ctx, f.name, env, f.needs)
	if err != nil {
		return err
	}
	f.rt = rt
	f.routes = f.wire(rt)
	f.handler = httpx.Serve(rt.Middleware(), f.routes...)
	return nil
}

// Stop stops background work and releases connections.
func (f *Function) Stop(context.Context) error {
	if f.rt != nil {
		f.rt.Close()
	}
	return nil
}

// Ready reports whether the database answers.
func (f *Function) Ready(ctx context.Context) (bool, error) {
	if f.rt == nil {
		return false, nil
	}
	err := f.rt.Store.Ping(ctx)
	return err == nil, err
}

// Alive reports that the process can serve.
func (f *Function) Alive(context.Context) (bool, error) { return true, nil }

// Handle serves a request.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) { f.handler.ServeHTTP(w, r) }

// ServeHTTP is Handle, so a started function is an http.Handler.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.handler.ServeHTTP(w, r) }

// Routes returns the routes the function serves (for a gateway in front of
// several functions).
func (f *Function) Routes() []httpx.Route { return f.routes }

// Runtime returns what the started function runs on.
func (f *Function) Runtime() *Runtime { return f.rt }

// Metrics serves the function's metrics in the Prometheus text format.
func (f *Function) Metrics() http.Handler { return f.rt.Metrics.Handler() }
