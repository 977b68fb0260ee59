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

// BuildRoutes makes a function's routes from its started runtime. It may
// start background work with rt.Go.
type BuildRoutes func(rt *Runtime) []httpx.Route

// Lifecycle gives a function the Knative Go function shape (Start, Stop,
// Ready, Alive, Handle) around its BuildRoutes. Knative's Go middleware calls
// Start in the background while it already serves requests and health
// checks, so until Start has finished a request gets 503 (JSON, with
// Retry-After) and Ready says no.
type Lifecycle struct {
	name   string
	req    config.Requirements
	routes BuildRoutes
	mu     sync.Mutex // serializes Start and Stop
	done   bool       // Stop was called
	live   atomic.Pointer[started]
}

// started is what Start made.
type started struct {
	rt      *Runtime
	routes  []httpx.Route
	handler http.Handler
}

// NewLifecycle returns the unstarted function name; Start connects what req
// asks for and calls routes.
func NewLifecycle(name string, req config.Requirements, routes BuildRoutes) Lifecycle {
	return Lifecycle{name: name, req: req, routes: routes}
}

// Start connects the function using the environment env.
func (f *Lifecycle) Start(ctx context.Context, env map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.done:
		return errors.New(f.name + " was stopped")
	case f.live.Load() != nil:
		return errors.New(f.name + " already started")
	}
	rt, err := Open(ctx, f.name, env, f.req)
	if err != nil {
		return err
	}
	s := &started{rt: rt, routes: f.routes(rt)}
	s.handler = httpx.Serve(rt.Middleware(), s.routes...)
	f.live.Store(s)
	return nil
}

// Stop stops background work and releases connections; a Start after it
// fails.
func (f *Lifecycle) Stop(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = true
	if s := f.live.Swap(nil); s != nil {
		s.rt.Close()
	}
	return nil
}

// Ready reports whether the function has started and its database answers.
func (f *Lifecycle) Ready(ctx context.Context) (bool, error) {
	s := f.live.Load()
	if s == nil {
		return false, nil
	}
	err := s.rt.Store.Ping(ctx)
	return err == nil, err
}

// Alive reports that the process can serve.
func (f *Lifecycle) Alive(context.Context) (bool, error) { return true, nil }

// Handle serves a request.
func (f *Lifecycle) Handle(w http.ResponseWriter, r *http.Request) { f.ServeHTTP(w, r) }

// ServeHTTP is Handle, so a function is an http.Handler.
func (f *Lifecycle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := f.live.Load()
	if s == nil {
		httpx.WriteError(w, r, apperr.New(apperr.Unavailable, "%s is not started", f.name))
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Routes returns the routes the started function serves (for a gateway in
// front of several functions), none before Start.
func (f *Lifecycle) Routes() []httpx.Route {
	if s := f.live.Load(); s != nil {
		return s.routes
	}
	return nil
}

// Runtime returns what the started function runs on (nil before Start).
func (f *Lifecycle) Runtime() *Runtime {
	if s := f.live.Load(); s != nil {
		return s.rt
	}
	return nil
}

// Metrics serves the started function's metrics in the Prometheus text
// format.
func (f *Lifecycle) Metrics() http.Handler { return f.Runtime().Metrics.Handler() }
