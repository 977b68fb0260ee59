// Package server runs a function as a binary: HTTP on $PORT with health
// endpoints, and a graceful shutdown on SIGTERM or SIGINT.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/netutil"

	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/httpx"
)

// Service is the shape of a Knative-style Go function.
type Service interface {
	Start(ctx context.Context, env map[string]string) error
	Stop(ctx context.Context) error
	Ready(ctx context.Context) (bool, error)
	Handle(w http.ResponseWriter, r *http.Request)
}

// Environ returns the process environment as a map.
func Environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Main starts fn with the process environment and serves it until a
// termination signal. Start-up failures end the process with status 1.
func Main(fn Service) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, fn, Environ(), "", nil); err != nil {
		fmt.Fprintln(os.Stderr, "fatal:", err)
		os.Exit(1)
	}
}

// Run starts fn, serves it on ln, else on addr, else on $PORT, until ctx
// ends, then drains requests and stops fn.
func Run(ctx context.Context, fn Service, env map[string]string, addr string, ln net.Listener) error {
	httpCfg, err := config.LoadHTTP(env)
	if err != nil {
		// Report every bad setting at once, not only the server's.
		_, err = config.Load(env, config.Requirements{})
		return err
	}
	if err := fn.Start(ctx, env); err != nil {
		return err
	}
	var draining atomic.Bool
	srv := httpCfg.Server(mux(fn, &draining))
	EndStreamsOnShutdown(srv)
	if addr == "" {
		addr = ":" + strconv.Itoa(httpCfg.Port)
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			_ = fn.Stop(context.Background())
			return err
		}
	}
	ln = netutil.LimitListener(ln, httpCfg.MaxConns)
	debug, err := serveDebug(httpCfg.DebugAddr)
	if err != nil {
		_ = fn.Stop(context.Background())
		return err
	}
	metrics, err := serveMetrics(httpCfg.MetricsAddr, fn)
	if err != nil {
		_ = fn.Stop(context.Background())
		if debug != nil {
			_ = debug.Close()
		}
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
		// Readiness says no at once; requests are still served for the
		// delay, while the platform stops routing here.
		draining.Store(true)
		select {
		case <-time.After(httpCfg.ShutdownDelay):
		case serveErr = <-errc:
		}
	case serveErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	for _, aux := range []*http.Server{debug, metrics} {
		if aux != nil {
			_ = aux.Close()
		}
	}
	stopErr := fn.Stop(shutdownCtx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, stopErr)
}

// EndStreamsOnShutdown makes the requests srv serves carry
// httpx.Draining, closed when srv.Shutdown begins: Shutdown waits for
// requests to finish, and an event stream never does by itself.
func EndStreamsOnShutdown(srv *http.Server) {
	drain := make(chan struct{})
	srv.BaseContext = func(net.Listener) context.Context { return httpx.WithDrain(context.Background(), drain) }
	srv.RegisterOnShutdown(func() { close(drain) })
}

// serveDebug serves the runtime profiles on addr, when set.
func serveDebug(addr string) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serveAside("DEBUG_ADDR", addr, mux)
}

// serveMetrics serves fn's metrics on addr, when set and fn has metrics:
// a listener of their own, which a scraper reaches and clients of the
// function's port do not.
func serveMetrics(addr string, fn Service) (*http.Server, error) {
	m, ok := fn.(interface{ Metrics() http.Handler })
	if !ok {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Metrics())
	return serveAside("METRICS_ADDR", addr, mux)
}

// serveAside serves h on addr (the variable name says where it was set),
// apart from the function's port; nothing when addr is empty.
func serveAside(name, addr string, h http.Handler) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// Mux serves the health endpoints and everything else by fn. The metrics
// are not here: they have a listener of their own (METRICS_ADDR).
func Mux(fn Service) http.Handler { return mux(fn, nil) }

// mux is Mux whose readiness says no while draining (when set) is true.
func mux(fn Service, draining *atomic.Bool) *http.ServeMux {
	m := Health(func(ctx context.Context) (bool, error) {
		if draining != nil && draining.Load() {
			return false, nil
		}
		return fn.Ready(ctx)
	})
	m.HandleFunc("/", fn.Handle)
	return m
}

// Health returns a mux serving /health/liveness (always ok) and
// /health/readiness (ok while ready says so).
func Health(ready func(context.Context) (bool, error)) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/liveness", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /health/readiness", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if ok, err := ready(ctx); !ok || err != nil {
			writeStatus(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		writeStatus(w, http.StatusOK, "ready")
	})
	return mux
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "{\"status\":%q}\n", status)
}
