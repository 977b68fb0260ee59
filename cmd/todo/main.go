// Command todo runs the whole system locally (todo run, or todo run-dapr
// behind real Dapr sidecars), applies migrations
// (todo migrate up|down) and signs tokens for testing (todo token USER).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  todo run              start PostgreSQL (unless DATABASE_URL), a Kafka-protocol broker
                        (unless KAFKA_BROKERS), every function, and the API on $PORT (8080)
  todo run-dapr         the same, every function behind its own daprd (publishing and
                        subscribing through the sidecars; run from the repository root)
  todo migrate [up|down] apply (or revert all) migrations on DATABASE_URL
  todo token USER       print a bearer token for USER signed with AUTH_JWT_SECRET`

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
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
