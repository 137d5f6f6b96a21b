package migrations_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

// TestCapabilitiesSchema: migration 0007 makes the tables of SDK v2 and
// the columns it adds to apps and invocations; rows of an app go with it.
func TestCapabilitiesSchema(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		for _, table := range []string{"kv_entries", "secrets", "schedules"} {
			if _, err := db.Bun().NewSelect().Table(table).Count(ctx); err != nil {
				t.Errorf("count %s: %v", table, err)
			}
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Bun().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO apps (slug, name, created_at, updated_at, kv_max_keys, fetch_allow) VALUES ('a', 'a', ?, ?, 5, 'x.example')`, "2026-01-01 00:00:00+00:00", "2026-01-01 00:00:00+00:00")
		exec(`INSERT INTO kv_entries (app_id, key, value, size, updated_at) VALUES (1, 'k', ?, 2, ?)`, []byte("v"), "2026-01-01 00:00:00+00:00")
		exec(`INSERT INTO invocations (request_id, app_id, script_id, version, route_id, method, path, status, duration_us, output, error, created_at)
			VALUES ('r', 1, 0, 0, 0, 'GET', '/', 200, 1, '', '', ?)`, "2026-01-01 00:00:00+00:00")
		var trigger, fetches string
		if err := db.Bun().QueryRowContext(ctx, `SELECT trigger_kind, fetches FROM invocations`).Scan(&trigger, &fetches); err != nil {
			t.Fatal(err)
		}
		if trigger != "http" || fetches != "" {
			t.Errorf("an invocation written without them has trigger %q and fetches %q, want \"http\" and \"\"", trigger, fetches)
		}
		exec(`DELETE FROM apps`)
		if n, err := db.Bun().NewSelect().Table("kv_entries").Count(ctx); err != nil || n != 0 {
			t.Errorf("kv entries of a deleted app: %d, %v", n, err)
		}
	})
}
