package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/net/netutil"

	"github.com/todoevents/todo/dev/allinone"
	"github.com/todoevents/todo/dev/daprd"
	migratefn "github.com/todoevents/todo/functions/migrate"
	"github.com/todoevents/todo/shared/config"
	"github.com/todoevents/todo/shared/server"
	"github.com/todoevents/todo/shared/testkit"
)

// run starts the whole system and serves it until ctx ends. Its state
// (the PostgreSQL cluster, its password, the broker's log) lives under
// .data/ and is kept across runs. withDapr puts every function behind its
// own daprd (built once from the Go module proxy).
func run(ctx context.Context, out io.Writer, withDapr bool) error {
	env := server.Environ()
	setDefault(env, "PORT", "8080")
	setDefault(env, "CORS_ORIGINS", "http://localhost:3000")
	setDefault(env, "LOG_FORMAT", "console")
	// Webhooks to this machine (a receiver beside the server), for
	// development; notify says so when it starts.
	setDefault(env, "WEBHOOK_ALLOW_LOOPBACK", "true")
	if secret := firstSet(env["AUTH_JWT_SECRET"], env["BETTER_AUTH_SECRET"]); secret == "" {
		env["AUTH_JWT_SECRET"] = randomSecret()
	}
	setDefault(env, "APP_API_TOKEN", randomSecret())
	httpCfg, err := config.LoadHTTP(env)
	if err != nil {
		return err
	}
	// Loopback unless LISTEN_HOST says otherwise: a development server
	// with a sign-in that needs no credential (which answers loopback
	// clients only, wherever it listens).
	addr := net.JoinHostPort(firstSet(env["LISTEN_HOST"], "127.0.0.1"), env["PORT"])
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (LISTEN_HOST, PORT): %w", addr, err)
	}
	ln = netutil.LimitListener(ln, httpCfg.MaxConns)
	defer ln.Close()
	pgLog, err := openPGLog()
	if err != nil {
		return err
	}
	defer pgLog.Close()
	opts := allinone.Options{Env: env, DataDir: ".data", PGLog: pgLog}
	if withDapr {
		// A Dapr job per reminder says when it is due.
		setDefault(env, "REMINDER_TRIGGER", config.ReminderTriggerDaprJobs)
		var sched *daprd.Scheduler
		if opts.Dapr, sched, err = daprOptions(out); err != nil {
			return err
		}
		defer sched.Stop()
	}
	s, err := allinone.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	srv := httpCfg.Server(s.Handler)
	server.EndStreamsOnShutdown(srv)
	go func() { _ = srv.Serve(ln) }()
	if err := printWelcome(out, s.Env); err != nil {
		return err
	}
	if s.Env["WEBHOOK_ALLOW_LOOPBACK"] == "true" {
		fmt.Fprintln(out, "note: webhooks may reach this machine's own addresses (WEBHOOK_ALLOW_LOOPBACK=true): for development only")
	}
	for _, note := range s.Notes {
		fmt.Fprintln(out, "note:", note)
	}
	for _, sc := range s.Sidecars() {
		fmt.Fprintf(out, "  %-13s on 127.0.0.1:%d behind daprd (HTTP %s)\n", sc.Function, sc.AppPort, sc.Ports.URL())
	}
	<-ctx.Done()
	fmt.Fprintln(out, "\nshutting down...")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// daprOptions finds (or builds) daprd and the Dapr scheduler, starts the
// scheduler (its data kept in .data/dapr-scheduler) and sends the
// sidecars' and the scheduler's logs to .data/daprd.log.
func daprOptions(out io.Writer) (*allinone.DaprOptions, *daprd.Scheduler, error) {
	fmt.Fprintln(out, "finding daprd and the Dapr scheduler (the first time they are built from the Go module proxy: 5 to 20 minutes)...")
	bin, err := daprd.Binary()
	if err != nil {
		return nil, nil, err
	}
	schedBin, err := daprd.SchedulerBinary()
	if err != nil {
		return nil, nil, err
	}
	log, err := os.OpenFile(filepath.Join(".data", "daprd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, err
	}
	sched, err := daprd.StartScheduler(schedBin, filepath.Join(".data", "dapr-scheduler"), log)
	if err != nil {
		return nil, nil, err
	}
	return &allinone.DaprOptions{Bin: bin, Config: daprd.Tree, WorkDir: ".data", Log: log, Scheduler: sched.Addr}, sched, nil
}

func openPGLog() (*os.File, error) {
	if err := os.MkdirAll(".data", 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(".data", "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}

func printWelcome(out io.Writer, env map[string]string) error {
	secret := firstSet(env["AUTH_JWT_SECRET"], env["BETTER_AUTH_SECRET"])
	tok, err := testkit.SignToken([]byte(secret), "demo-user", time.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	base := "http://localhost:" + env["PORT"]
	_, err = fmt.Fprintf(out, `
todo backend ready on %[1]s
  web app:  %[1]s/  (sign in with any user name: a development-only sign-in)
  database: %[2]s
  brokers:  %[3]s
  app token for pushed events (dapr-api-token or Authorization: Bearer on POST %[1]s/events/recur-task):
    %[5]s
  token for user demo-user (24h):
    export TOKEN=%[4]s
  try:
    curl -s -X POST %[1]s/api/demo-user/tasks -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' -d '{"title":"Water the plants","recurring_type":"daily"}'
    curl -s -X PATCH %[1]s/api/demo-user/tasks/<id>/complete -H "Authorization: Bearer $TOKEN"
    curl -s %[1]s/api/demo-user/tasks -H "Authorization: Bearer $TOKEN"
  Ctrl-C stops everything.
`, base, env["DATABASE_URL"], env["KAFKA_BROKERS"], tok, env["APP_API_TOKEN"])
	return err
}

func migrate(ctx context.Context, args []string) error {
	return migratefn.Run(ctx, os.Getenv("DATABASE_URL"), args)
}

func token(args []string, out io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("usage: todo token USER")
	}
	secret := firstSet(os.Getenv("AUTH_JWT_SECRET"), os.Getenv("BETTER_AUTH_SECRET"))
	if len(secret) < config.MinSecretLen {
		return fmt.Errorf("AUTH_JWT_SECRET must be set, at least %d characters", config.MinSecretLen)
	}
	tok, err := testkit.SignToken([]byte(secret), args[0], time.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

func setDefault(env map[string]string, k, v string) {
	if env[k] == "" {
		env[k] = v
	}
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
