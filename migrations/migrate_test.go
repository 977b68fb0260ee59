package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/internal/testenv"
	"github.com/todoevents/todo/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.Database(t) // already migrated up
	want := []string{"tasks", "outbox", "processed_events", "idempotency_keys"}
	for _, name := range want {
		if !testenv.Tables(t, url)[name] {
			t.Fatalf("after up: table %s missing", name)
		}
	}
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatalf("second up must be a no-op: %v", err)
	}
	if err := migrations.DownAll(ctx, url); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left := testenv.Tables(t, url); len(left) != 0 {
		t.Fatalf("after down: tables left %v", left)
	}
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatalf("up again: %v", err)
	}
	for _, name := range want {
		if !testenv.Tables(t, url)[name] {
			t.Fatalf("after up again: table %s missing", name)
		}
	}
}

func TestSchemaEnforcesOneNextOccurrence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	parent := "11111111-1111-1111-1111-111111111111"
	if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, title) VALUES ($1, 'u', 'p')`, parent); err != nil {
		t.Fatal(err)
	}
	insertChild := `INSERT INTO tasks (id, user_id, title, parent_task_id) VALUES (gen_random_uuid(), 'u', 'c', $1)`
	if _, err := conn.Exec(ctx, insertChild, parent); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, insertChild, parent); err == nil {
		t.Fatal("a second child of one parent was accepted")
	}
	bad := []string{
		`INSERT INTO tasks (id, user_id, title, status) VALUES (gen_random_uuid(), 'u', 't', 'archived')`,
		`INSERT INTO tasks (id, user_id, title, status) VALUES (gen_random_uuid(), 'u', 't', 'done')`,
		`INSERT INTO tasks (id, user_id, title, recurring_type) VALUES (gen_random_uuid(), 'u', 't', 'hourly')`,
		`INSERT INTO tasks (id, user_id, title) VALUES (gen_random_uuid(), 'u', '')`,
		`INSERT INTO tasks (id, user_id, title, due_date, recurring_end_date) VALUES (gen_random_uuid(), 'u', 't', now(), now() - interval '1 day')`,
	}
	for _, sql := range bad {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("accepted: %s", sql)
		}
	}
}
