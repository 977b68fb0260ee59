// Command todo runs the whole system locally (todo run, or todo run-dapr
// behind real Dapr sidecars), applies migrations
// (todo migrate up|down), signs tokens for testing (todo token USER) and
// shows the traces a traced run exports (todo traces).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `usage:
  todo run              start PostgreSQL (unless DATABASE_URL), a Kafka-protocol broker
                        (unless KAFKA_BROKERS), every function, and the API on $PORT (8080)
  todo run-dapr         the same, every function behind its own daprd (publishing and
                        subscribing through the sidecars; run from the repository root)
  todo migrate [up|down] apply (or revert all) migrations on DATABASE_URL
  todo token USER       print a bearer token for USER signed with AUTH_JWT_SECRET
  todo traces [ADDR]    receive spans by OTLP/HTTP on ADDR (127.0.0.1:4318) and print each
                        trace as a tree (run the system with OTEL_EXPORTER_OTLP_ENDPOINT)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "todo:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("missing command\n%s", usage)
	}
	switch args[0] {
	case "run":
		return run(ctx, os.Stdout, false)
	case "run-dapr":
		return run(ctx, os.Stdout, true)
	case "migrate":
		return migrate(ctx, args[1:])
	case "token":
		return token(args[1:], os.Stdout)
	case "traces":
		addr := "127.0.0.1:4318"
		if len(args) > 1 {
			addr = args[1]
		}
		return traces(ctx, os.Stdout, addr, 2*time.Second)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
