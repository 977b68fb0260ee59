package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/todoevents/todo/migrations"
	"github.com/todoevents/todo/shared/testkit"
)

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testkit.Database(t) // already migrated up
	want := []string{"tasks", "outbox", "processed_events", "idempotency_keys", "write_budgets"}
	for _, name := range want {
		if !testkit.Tables(t, url)[name] {
			t.Fatalf("after up: table %s missing", name)
		}
	}
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatalf("second up must be a no-op: %v", err)
	}
	if err := migrations.DownAll(ctx, url); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left := testkit.Tables(t, url); len(left) != 0 {
		t.Fatalf("after down: tables left %v", left)
	}
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatalf("up again: %v", err)
	}
	for _, name := range want {
		if !testkit.Tables(t, url)[name] {
			t.Fatalf("after up again: table %s missing", name)
		}
	}
}

func TestSchemaEnforcesOneNextOccurrence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testkit.Database(t))
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
		`INSERT INTO tasks (id, user_id, title, reminders) VALUES (gen_random_uuid(), 'u', 't', '{}')`,
		`INSERT INTO tasks (id, user_id, title, reminders) VALUES (gen_random_uuid(), 'u', 't', '[{},{},{},{},{},{}]')`,
		`INSERT INTO tasks (id, user_id, title, reminders) VALUES (gen_random_uuid(), 'u', 't', 'null')`,
	}
	for _, sql := range bad {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("accepted: %s", sql)
		}
	}
}

// downTo reverts the database at url to migration version.
func downTo(t *testing.T, url string, version int64) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
}

// Rows written before the time window and the zone list existed (a year
// 10000 due date, a 1969 one, zones that are files of a zoneinfo directory
// but not zones) are repaired by migrating up, and no longer accepted after.
func TestMigrationsRepairTimesAndZones(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testkit.Database(t)
	downTo(t, url, 7)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows := []struct {
		due, end, zone string
		wantDue        string
		wantEnd        *string
		wantZone       string
	}{
		{"10000-01-01 11:30:00+00", "10000-02-01 00:00:00+00", "Etc/GMT+12", "9999-12-30 23:59:59.999999+00", ptr("9999-12-30 23:59:59.999999+00"), "Etc/GMT+12"},
		{"1969-12-31 23:00:00+00", "", "posix/Asia/Tokyo", "1970-01-01 00:00:00+00", nil, "Asia/Tokyo"},
		{"2026-03-01 09:00:00+00", "", "right/UTC", "2026-03-01 09:00:00+00", nil, "UTC"},
		{"2026-03-01 09:00:00+00", "", "localtime", "2026-03-01 09:00:00+00", nil, "UTC"},
		{"2026-03-01 09:00:00+00", "", "posixrules", "2026-03-01 09:00:00+00", nil, "UTC"},
		{"2026-03-01 09:00:00+00", "", "Factory", "2026-03-01 09:00:00+00", nil, "UTC"},
		{"2026-03-01 09:00:00+00", "", "US/Eastern", "2026-03-01 09:00:00+00", nil, "US/Eastern"},
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = uuid.NewString()
		var end any
		if r.end != "" {
			end = r.end
		}
		if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, title, due_date, recurring_end_date, series_anchor, timezone, recurring_type)
			VALUES ($1, 'u', 'legacy', $2, $3, $2, $4, 'daily')`, ids[i], r.due, end, r.zone); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		var due, anchor time.Time
		var end *time.Time
		var zone string
		if err := conn.QueryRow(ctx, `SELECT due_date, recurring_end_date, series_anchor, timezone FROM tasks WHERE id = $1`,
			ids[i]).Scan(&due, &end, &anchor, &zone); err != nil {
			t.Fatal(err)
		}
		wantDue := parsePG(t, r.wantDue)
		if !due.Equal(wantDue) || !anchor.Equal(wantDue) || zone != r.wantZone ||
			(end == nil) != (r.wantEnd == nil) || (end != nil && !end.Equal(parsePG(t, *r.wantEnd))) {
			t.Errorf("%s in %s: now due %s (anchor %s), end %v, zone %s; want %s, %v, %s", r.due, r.zone,
				due.UTC(), anchor.UTC(), end, zone, wantDue, r.wantEnd, r.wantZone)
		}
	}
	for _, sql := range []string{
		`INSERT INTO tasks (id, user_id, title, due_date) VALUES (gen_random_uuid(), 'u', 't', '9999-12-31 00:00:00+00')`,
		`INSERT INTO tasks (id, user_id, title, due_date) VALUES (gen_random_uuid(), 'u', 't', '1969-12-31 23:59:59+00')`,
		`INSERT INTO tasks (id, user_id, title, recurring_type, recurring_end_date) VALUES (gen_random_uuid(), 'u', 't', 'daily', '10000-01-01 00:00:00+00')`,
		`INSERT INTO tasks (id, user_id, title, series_anchor) VALUES (gen_random_uuid(), 'u', 't', '0001-01-01 00:00:00+00')`,
	} {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("accepted after the migration: %s", sql)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func parsePG(t *testing.T, s string) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05-07"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v
		}
	}
	t.Fatalf("bad time %q", s)
	return time.Time{}
}

// Chains stored before tasks knew their series get one by migrating up:
// each first task starts a series, its next occurrences follow in order,
// and a task whose parent was deleted starts a series of its own; tasks
// inserted afterwards are placed by the trigger.
func TestMigrationsPlaceExistingChainsInSeries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testkit.Database(t)
	downTo(t, url, 14)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	// ids[0] → ids[1] → ids[2]; ids[3] lost its parent; ids[4] stands alone.
	for i, parent := range []*string{nil, &ids[0], &ids[1], nil, nil} {
		if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, title, parent_task_id) VALUES ($1, 'u', 't', $2)`,
			ids[i], parent); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrations.Up(ctx, url); err != nil {
		t.Fatal(err)
	}
	child := uuid.NewString()
	if _, err := conn.Exec(ctx, `INSERT INTO tasks (id, user_id, title, parent_task_id) VALUES ($1, 'u', 't', $2)`,
		child, ids[3]); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]any{ids[0]: {ids[0], 0}, ids[1]: {ids[0], 1}, ids[2]: {ids[0], 2}, ids[3]: {ids[3], 0},
		ids[4]: {ids[4], 0}, child: {ids[3], 1}}
	for id, w := range want {
		var series string
		var position int
		if err := conn.QueryRow(ctx, `SELECT series_id, series_position FROM tasks WHERE id = $1`, id).Scan(&series, &position); err != nil {
			t.Fatal(err)
		}
		if series != w[0] || position != w[1] {
			t.Errorf("task %s: series %s position %d, want %v", id, series, position, w)
		}
	}
}
