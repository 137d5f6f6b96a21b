package migrations_test

import (
	"context"
	"sync"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/migrations"
	"github.com/picloud/picloud/models"
)

func TestRunIsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db, err := models.Open(ctx, tg.URL, tg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		for i := range 3 {
			if err := migrations.Run(ctx, db.Bun()); err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
		}
		status, err := migrations.Status(ctx, db.Bun())
		if err != nil {
			t.Fatal(err)
		}
		if len(status) == 0 {
			t.Fatal("no migrations known")
		}
		for _, m := range status {
			if !m.Applied {
				t.Errorf("migration %s_%s not applied", m.Name, m.Comment)
			}
		}
		applied, err := db.Bun().NewSelect().Table("bun_migrations").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if applied != int64(len(status)) {
			t.Errorf("bun_migrations holds %d rows, want %d (one per migration)", applied, len(status))
		}
	})
}

func TestSchemaHasTables(t *testing.T) {
	tables := []string{"apps", "scripts", "script_versions", "routes", "invocations",
		"admin_users", "admin_sessions", "admin_setup_tokens", "domains", "slug_redirects"}
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		for _, table := range tables {
			t.Run(table, func(t *testing.T) {
				if _, err := db.Bun().NewSelect().Table(table).Count(context.Background()); err != nil {
					t.Errorf("count %s: %v", table, err)
				}
			})
		}
	})
}

// TestConcurrentRunOnPostgres starts several processes' worth of
// migrations at once against one fresh schema, as cluster nodes do.
func TestConcurrentRunOnPostgres(t *testing.T) {
	tg := testdb.Postgres(t)
	ctx := context.Background()
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		db, err := models.Open(ctx, tg.URL, tg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Go(func() { errs[i] = migrations.Run(ctx, db.Bun()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}
