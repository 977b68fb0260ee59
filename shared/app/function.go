package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/todoevents/todo/shared/apperr"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
)

// Wire builds a function from its runtime: the routes it serves. It may
// start background work with rt.Go.
type Wire func(rt *Runtime) []httpx.Route

// Function gives a function the Knative Go function shape (Start, Stop,
// Ready, Alive, Handle) around its Wire. Knative's Go middleware calls
// Start in the background while it already serves requests and health
// checks, so until Start has finished a request gets 503 (JSON, with
// Retry-After) and Ready says no.
type Function struct {
	name  string
	needs config.Needs
	wire  Wire
	mu    sync.Mutex // serializes Start and Stop
	done  bool       // Stop was called
	live  atomic.Pointer[started]
}

// started is what Start made.
type started struct {
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
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.done:
		return errors.New(f.name + " was stopped")
	case f.live.Load() != nil:
		return errors.New(f.name + " already started")
	}
	rt, err := Open(ctx, f.name, env, f.needs)
	if err != nil {
		return err
	}
	s := &started{rt: rt, routes: f.wire(rt)}
	s.handler = httpx.Serve(rt.Middleware(), s.routes...)
	f.live.Store(s)
	return nil
}

// Stop stops background work and releases connections; a Start after it
// fails.
func (f *Function) Stop(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = true
	if s := f.live.Swap(nil); s != nil {
		s.rt.Close()
	}
	return nil
}

// Ready reports whether the function has started and its database answers.
func (f *Function) Ready(ctx context.Context) (bool, error) {
	s := f.live.Load()
	if s == nil {
		return false, nil
	}
	err := s.rt.Store.Ping(ctx)
	return err == nil, err
}

// Alive reports that the process can serve.
func (f *Function) Alive(context.Context) (bool, error) { return true, nil }

// Handle serves a request.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) { f.ServeHTTP(w, r) }

// ServeHTTP is Handle, so a function is an http.Handler.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := f.live.Load()
	if s == nil {
		httpx.WriteError(w, r, apperr.New(apperr.Unavailable, "%s is not started", f.name))
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Routes returns the routes the started function serves (for a gateway in
// front of several functions), none before Start.
func (f *Function) Routes() []httpx.Route {
	if s := f.live.Load(); s != nil {
		return s.routes
	}
	return nil
}

// Runtime returns what the started function runs on (nil before Start).
func (f *Function) Runtime() *Runtime {
	if s := f.live.Load(); s != nil {
		return s.rt
	}
	return nil
}

// Metrics serves the started function's metrics in the Prometheus text
// format.
func (f *Function) Metrics() http.Handler { return f.Runtime().Metrics.Handler() }
