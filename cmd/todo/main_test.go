package main

import (
	"context"
	"strings"
	"testing"

	"github.com/todoevents/todo/shared/auth"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func tableCount(t *testing.T, url string) int {
	t.Helper()
	return len(testkit.Tables(t, url))
}

func TestMigrateCommand(t *testing.T) {
	url := testkit.Database(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	if err := dispatch(ctx, []string{"migrate", "down"}); err != nil || tableCount(t, url) != 0 {
		t.Fatalf("migrate down: %v, %d tables left", err, tableCount(t, url))
	}
	if err := dispatch(ctx, []string{"migrate"}); err != nil || tableCount(t, url) != 8 { // tasks, outbox, outbox_stream, processed_events, idempotency_keys, write_budgets, webhooks, webhook_deliveries
		t.Fatalf("migrate: %v, %d tables", err, tableCount(t, url))
	}
	if err := dispatch(ctx, []string{"migrate", "sideways"}); err == nil {
		t.Fatal("unknown direction accepted")
	}
	t.Setenv("DATABASE_URL", "")
	if err := dispatch(ctx, []string{"migrate"}); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("missing DATABASE_URL: %v", err)
	}
}

func TestTokenCommandAndUsage(t *testing.T) {
	t.Setenv("AUTH_JWT_SECRET", "")
	t.Setenv("BETTER_AUTH_SECRET", testkit.Secret)
	var out strings.Builder
	if err := token([]string{"alice"}, &out); err != nil {
		t.Fatal(err)
	}
	if sub, err := (auth.Verifier{Secret: []byte(testkit.Secret)}).Verify(strings.TrimSpace(out.String())); err != nil || sub != "alice" {
		t.Fatalf("printed token: %q, %v", sub, err)
	}
	t.Setenv("BETTER_AUTH_SECRET", "short")
	if err := dispatch(context.Background(), []string{"token", "alice"}); err == nil {
		t.Fatal("short secret accepted")
	}
	for _, args := range [][]string{nil, {"fly"}, {"token"}} {
		if err := dispatch(context.Background(), args); err == nil {
			t.Fatalf("%v accepted", args)
		}
	}
}
