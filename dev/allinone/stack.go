// Package stack runs the whole system in one process: a PostgreSQL cluster
// (unless a database URL is given), an in-process Kafka-protocol broker
// (unless brokers are given), migrations, every function, and a gateway that
// serves the whole API on one base URL. `make run` and the integration tests
// both use it.
package allinone

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	completetask "github.com/todoevents/todo/functions/complete-task"
	createtask "github.com/todoevents/todo/functions/create-task"
	deletetask "github.com/todoevents/todo/functions/delete-task"
	liveupdates "github.com/todoevents/todo/functions/live-updates"
	notify "github.com/todoevents/todo/functions/notify"
	readtasks "github.com/todoevents/todo/functions/read-tasks"
	recurtask "github.com/todoevents/todo/functions/recur-task"
	skiptask "github.com/todoevents/todo/functions/skip-task"
	updatetask "github.com/todoevents/todo/functions/update-task"
	"github.com/todoevents/todo/migrations"
	"github.com/todoevents/todo/shared/httpx"
	"github.com/todoevents/todo/shared/server"
	"github.com/todoevents/todo/shared/testkit/pgcluster"
)

// Options configure Start.
type Options struct {
	// Env is the functions' environment (DATABASE_URL, KAFKA_BROKERS,
	// AUTH_JWT_SECRET, ...). Missing DATABASE_URL and KAFKA_BROKERS are
	// filled in by the embedded PostgreSQL and broker.
	Env map[string]string
	// DataDir keeps the embedded cluster (durable, password-protected, in
	// pg/ with its password in pg.password) and the embedded broker's log
	// (kafka/) across runs. Empty uses a throwaway cluster and an in-memory
	// broker, removed on Close.
	DataDir string
	// PGLog receives the embedded server's output.
	PGLog *os.File
	// Partitions of the embedded broker's topics.
	Partitions int32
	// Dapr, when set, puts every function behind a real daprd: events are
	// published through the sidecars and delivered to recur-task by its
	// sidecar.
	Dapr *DaprOptions
}

// Stack is the running system.
type Stack struct {
	Env     map[string]string
	Handler http.Handler
	Routes  []httpx.Route      // what Handler serves besides /health/
	Broker  *kfake.Cluster     // nil when external brokers are used
	PG      *pgcluster.Cluster // nil when DATABASE_URL was given
	// Notes are things start-up recovered from, for the operator.
	Notes []string

	functions []server.Service
	sidecars  []*sidecar
	tempPG    bool
}

// Start brings the system up.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{Env: map[string]string{}}
	for k, v := range opts.Env {
		s.Env[k] = v
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Env["DATABASE_URL"] == "" {
		pgOpts := pgcluster.Options{Log: opts.PGLog}
		if opts.DataDir != "" {
			pgOpts = pgcluster.Options{Dir: filepath.Join(opts.DataDir, "pg"), Log: opts.PGLog, Durable: true,
				PasswordFile: filepath.Join(opts.DataDir, "pg.password")}
		}
		if s.PG, err = pgcluster.Start(ctx, pgOpts); err != nil {
			return nil, fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		s.tempPG = opts.DataDir == ""
		s.Env["DATABASE_URL"] = s.PG.URL("postgres")
	}
	if err := migrations.Up(ctx, s.Env["DATABASE_URL"]); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if s.Env["KAFKA_BROKERS"] == "" {
		partitions := opts.Partitions
		if partitions <= 0 {
			partitions = 3
		}
		var note string
		if s.Broker, note, err = startBroker(opts.DataDir, partitions); err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		if note != "" {
			s.Notes = append(s.Notes, note)
		}
		s.Env["KAFKA_BROKERS"] = strings.Join(s.Broker.ListenAddrs(), ",")
	}
	var resources string
	if opts.Dapr != nil {
		if resources, err = opts.Dapr.prepare(s.Env["KAFKA_BROKERS"], opts.Partitions); err != nil {
			return nil, err
		}
	}
	create, complete, read, recur := createtask.New(), completetask.New(), readtasks.New(), recurtask.New()
	update, del, skip := updatetask.New(), deletetask.New(), skiptask.New()
	for _, fn := range []struct {
		name string
		fn   server.Service
	}{{createtask.Name, create}, {completetask.Name, complete}, {readtasks.Name, read}, {updatetask.Name, update},
		{deletetask.Name, del}, {skiptask.Name, skip}, {recurtask.Name, recur}} {
		if opts.Dapr == nil {
			if err := fn.fn.Start(ctx, s.Env); err != nil {
				return nil, err
			}
			s.functions = append(s.functions, fn.fn)
			continue
		}
		sc, err := opts.Dapr.start(ctx, fn.name, fn.fn, s.Env, resources)
		if sc != nil {
			s.functions = append(s.functions, fn.fn)
			s.sidecars = append(s.sidecars, sc)
		}
		if err != nil {
			return nil, err
		}
	}
	live := liveupdates.New() // reads the broker itself, with or without sidecars
	if err := live.Start(ctx, s.Env); err != nil {
		return nil, err
	}
	s.functions = append(s.functions, live)
	hooks := notify.New() // consumes the broker itself too, and sends the webhooks
	if err := hooks.Start(ctx, s.Env); err != nil {
		return nil, err
	}
	s.functions = append(s.functions, hooks)
	s.Handler = s.gateway([]routed{create, complete, skip, read, update, del, live, hooks}, recur, read.Runtime().Wrap)
	return s, nil
}

// routed is a started function that declares its routes.
type routed interface {
	server.Service
	Routes() []httpx.Route
}

// gateway routes each API call to the function that serves it, as an
// ingress would in a cluster, from the routes the functions declare: a
// path's 405 lists the methods of every function serving it.
// recur-task's push endpoint is mounted at /events/recur-task.
func (s *Stack) gateway(api []routed, recur routed, wrap func(http.Handler) http.Handler) http.Handler {
	var routes []httpx.Route
	owner := map[string]http.Handler{}
	for _, fn := range api {
		for _, rt := range fn.Routes() {
			routes = append(routes, rt)
			owner[rt.Method+" "+rt.Pattern] = http.HandlerFunc(fn.Handle)
		}
	}
	if secret := s.Env["AUTH_JWT_SECRET"]; secret != "" {
		dev := devSignIn([]byte(secret))
		routes = append(routes, dev)
		owner[dev.Method+" "+dev.Pattern] = dev.Handler
	}
	push := httpx.Route{Method: http.MethodPost, Pattern: "/events/recur-task"}
	routes = append(routes, push)
	owner[push.Method+" "+push.Pattern] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/"
		recur.Handle(w, r2)
	})
	s.Routes = routes
	mux := httpx.NewMux(routes, func(rt httpx.Route) http.Handler { return owner[rt.Method+" "+rt.Pattern] }, wrap)
	mux.Handle("GET /health/", server.Health(s.Ready))
	return mux
}

// Ready reports whether every function is ready.
func (s *Stack) Ready(ctx context.Context) (bool, error) {
	for _, fn := range s.functions {
		if ok, err := fn.Ready(ctx); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// Close stops the functions, the broker and the embedded database.
func (s *Stack) Close() {
	for _, sc := range s.sidecars {
		sc.stop()
	}
	for i := len(s.functions) - 1; i >= 0; i-- {
		_ = s.functions[i].Stop(context.Background()) // Stop only releases resources
	}
	if s.Broker != nil {
		s.Broker.Close()
	}
	if s.PG != nil {
		if s.tempPG {
			s.PG.Remove()
		} else {
			s.PG.Stop()
		}
	}
}
