package migrations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/migrations"
	"github.com/picloud/picloud/models"
)

// at0004 opens the target's database migrated as it was before 0005:
// everything is applied, then 0005 and later are undone.
func at0004(t *testing.T, tg testdb.Target) *models.DB {
	t.Helper()
	ctx := context.Background()
	db, err := models.Open(ctx, tg.URL, tg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := migrations.Run(ctx, db.Bun()); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Undo0005(ctx, db.Bun()); err != nil {
		t.Fatal(err)
	}
	return db
}

// insertRoutes stores routes (method and path) of one app and script
// with plain SQL, as a database before 0005 holds them.
func insertRoutes(t *testing.T, db *models.DB, routes ...[2]string) {
	t.Helper()
	ctx := context.Background()
	stmts := []string{
		`INSERT INTO apps (id, slug, name, created_at, updated_at) VALUES (1, 'a', 'a', '2030-01-01 00:00:00+00:00', '2030-01-01 00:00:00+00:00')`,
		`INSERT INTO scripts (id, app_id, name, live_version, created_at, updated_at) VALUES (1, 1, 's', 1, '2030-01-01 00:00:00+00:00', '2030-01-01 00:00:00+00:00')`,
	}
	for _, q := range stmts {
		if _, err := db.Bun().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, r := range routes {
		if _, err := db.Bun().ExecContext(ctx,
			`INSERT INTO routes (app_id, script_id, method, path, created_at) VALUES (1, 1, ?, ?, '2030-01-01 00:00:00+00:00')`, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRouteShapesOfStoredRoutes: 0005 gives the routes already stored
// their shapes, and from then on the database refuses a conflict.
func TestRouteShapesOfStoredRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := at0004(t, tg)
		insertRoutes(t, db, [2]string{"GET", "/users/:id"}, [2]string{"GET", "/users/me"},
			[2]string{"GET", "/files/*rest"}, [2]string{"POST", "/users/:name"}, [2]string{"GET", "/"})
		if err := migrations.Run(ctx, db.Bun()); err != nil {
			t.Fatal(err)
		}
		var shapes []string
		if err := db.Bun().NewRaw("SELECT shape FROM routes ORDER BY id").Scan(ctx, &shapes); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(shapes, " "); got != "/users/: /users/me /files/* /users/: /" {
			t.Fatalf("shapes %q", got)
		}
		_, err := db.Bun().ExecContext(ctx,
			`INSERT INTO routes (app_id, script_id, method, path, shape, created_at) VALUES (1, 1, 'GET', '/users/:x', '/users/:', '2030-01-01 00:00:00+00:00')`)
		if err == nil {
			t.Fatal("the database took a route of a stored route's method and shape")
		}
	})
}

// TestRouteShapesRefuseStoredConflicts: routes that already conflict stop
// the migration with their ids, and leave the database as it was.
func TestRouteShapesRefuseStoredConflicts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := at0004(t, tg)
		insertRoutes(t, db, [2]string{"GET", "/users/:id"}, [2]string{"GET", "/users/:name"})
		err := migrations.Run(ctx, db.Bun())
		if err == nil || !strings.Contains(err.Error(), "routes 1 and 2 of app 1 conflict") {
			t.Fatalf("migrate = %v, want the conflicting routes named", err)
		}
		status, err := migrations.Status(ctx, db.Bun())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range status {
			if m.Name >= "0005" && m.Applied {
				t.Fatalf("migration %+v applied, want 0005 and later not applied", m)
			}
		}
		if _, err := db.Bun().ExecContext(ctx, `SELECT shape FROM routes`); err == nil {
			t.Fatal("routes.shape exists after the failed migration")
		}
	})
}
