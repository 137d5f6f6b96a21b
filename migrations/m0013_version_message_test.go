package migrations_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/migrations"
)

// TestVersionMessageSchema: migration 0013 gives every script version a
// message; versions stored before it keep their source and get none.
func TestVersionMessageSchema(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := at0004(t, tg)
		ctx := context.Background()
		stmts := []string{
			`INSERT INTO apps (id, slug, name, created_at, updated_at) VALUES (1, 'a', 'a', '2030-01-01 00:00:00+00:00', '2030-01-01 00:00:00+00:00')`,
			`INSERT INTO scripts (id, app_id, name, live_version, created_at, updated_at) VALUES (1, 1, 's', 1, '2030-01-01 00:00:00+00:00', '2030-01-01 00:00:00+00:00')`,
			`INSERT INTO script_versions (script_id, version, source, hash, created_at) VALUES (1, 1, 'old source', 'h', '2030-01-01 00:00:00+00:00')`,
		}
		for _, q := range stmts {
			if _, err := db.Bun().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := migrations.Run(ctx, db.Bun()); err != nil {
			t.Fatal(err)
		}
		var row struct {
			Source  string `bun:"source"`
			Message string `bun:"message"`
		}
		if err := db.Bun().NewSelect().Table("script_versions").Column("source", "message").Where("script_id = 1").Scan(ctx, &row); err != nil {
			t.Fatal(err)
		}
		if row.Source != "old source" || row.Message != "" {
			t.Errorf("the old version reads source %q, message %q; want \"old source\", \"\"", row.Source, row.Message)
		}
		if _, err := db.Bun().ExecContext(ctx, `INSERT INTO script_versions (script_id, version, source, hash, created_at, message) VALUES (1, 2, 'new', 'h2', '2030-01-02 00:00:00+00:00', 'fix the totals')`); err != nil {
			t.Fatalf("a version with a message: %v", err)
		}
	})
}
