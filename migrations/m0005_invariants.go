package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migration 0005, frozen: rules that must hold however many processes
// write to the database, kept by the database.
//
// Route shapes. Two routes of one app and method conflict when their
// paths have the same shape (route.Shape): "/users/:id" and
// "/users/:name". routes.shape holds it, unique per app and method, so no
// two writers can both add one of a conflicting pair.
//
// App revisions. apps.revision grows with every change to what an app
// serves: the app row itself, its scripts, routes, domain claims and
// former slugs. Triggers keep it, whoever writes, so a process that
// remembers the revision it deployed can tell from one cheap query
// whether anything changed behind its back (a lost change notification,
// another node's write).

const routesShapeIndexV5 = "routes_app_id_method_shape_key"

// appChildrenV5 are the tables whose rows belong to an app (by app_id)
// and change what it serves. Script versions are not among them: a
// version never changes, and making one live updates its script.
func appChildrenV5() []string {
	return []string{"scripts", "routes", "domains", "slug_redirects"}
}

func invariants() migrate.Migration {
	return migrate.Migration{
		Name:    "0005",
		Comment: "route shapes, app revisions",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if err := addRouteShapes(ctx, tx); err != nil {
					return err
				}
				return addAppRevisions(ctx, tx)
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if err := dropAppRevisions(ctx, tx); err != nil {
					return err
				}
				if _, err := tx.NewDropIndex().Index(routesShapeIndexV5).IfExists().Exec(ctx); err != nil {
					return fmt.Errorf("drop index %s: %w", routesShapeIndexV5, err)
				}
				if _, err := tx.NewDropColumn().Model((*routeV1)(nil)).Column("shape").Exec(ctx); err != nil {
					return fmt.Errorf("drop column routes.shape: %w", err)
				}
				return nil
			})
		},
	}
}

// addRouteShapes adds routes.shape, fills it in for the stored routes (a
// derived column is only added once it is filled in, so this write is part
// of the schema change) and makes it unique per app and method. Stored routes that already conflict
// (possible only if something wrote them behind the admin API's back)
// stop the migration with their ids: which one to keep is the operator's
// call.
func addRouteShapes(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewAddColumn().Model((*routeV1)(nil)).ColumnExpr("shape VARCHAR NOT NULL DEFAULT ''").Exec(ctx)
	if err != nil {
		return fmt.Errorf("add column routes.shape: %w", err)
	}
	var routes []struct {
		ID     int64  `bun:"id"`
		AppID  int64  `bun:"app_id"`
		Method string `bun:"method"`
		Path   string `bun:"path"`
	}
	if err := tx.NewSelect().Model((*routeV1)(nil)).Column("id", "app_id", "method", "path").Order("id").Scan(ctx, &routes); err != nil {
		return fmt.Errorf("read routes: %w", err)
	}
	seen := make(map[string]int64, len(routes))
	for _, r := range routes {
		shape := routeShapeV5(r.Path)
		key := fmt.Sprintf("%d %s %s", r.AppID, r.Method, shape)
		if first, ok := seen[key]; ok {
			return fmt.Errorf("routes %d and %d of app %d conflict (%s, same shape %s); delete one of them and migrate again", first, r.ID, r.AppID, r.Method, shape)
		}
		seen[key] = r.ID
		if _, err := tx.NewUpdate().Model((*routeV1)(nil)).Set("shape = ?", shape).Where("id = ?", r.ID).Exec(ctx); err != nil {
			return fmt.Errorf("set shape of route %d: %w", r.ID, err)
		}
	}
	_, err = tx.NewCreateIndex().Model((*routeV1)(nil)).Index(routesShapeIndexV5).Unique().Column("app_id", "method", "shape").Exec(ctx)
	if err != nil {
		return fmt.Errorf("create index %s: %w", routesShapeIndexV5, err)
	}
	return nil
}

// routeShapeV5 is route.Shape as of this migration, for paths that
// route.ValidatePath accepted: each ":param" segment becomes ":", the
// "*wildcard" segment "*".
func routeShapeV5(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			segs[i] = ":"
		case strings.HasPrefix(s, "*"):
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

// addAppRevisions adds apps.revision and the triggers that keep it.
func addAppRevisions(ctx context.Context, tx bun.Tx) error {
	_, err := tx.NewAddColumn().Model((*appV1)(nil)).ColumnExpr("revision BIGINT NOT NULL DEFAULT 0").Exec(ctx)
	if err != nil {
		return fmt.Errorf("add column apps.revision: %w", err)
	}
	stmts := sqliteRevisionTriggersV5()
	if tx.Dialect().Name() == dialect.PG {
		stmts = postgresRevisionTriggersV5()
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create app revision triggers: %w", err)
		}
	}
	return nil
}

func dropAppRevisions(ctx context.Context, tx bun.Tx) error {
	var stmts []string
	for _, table := range appChildrenV5() {
		for _, op := range []string{"insert", "update", "delete"} {
			stmts = append(stmts, fmt.Sprintf("DROP TRIGGER IF EXISTS %s_%s_app_revision", table, op))
		}
	}
	stmts = append(stmts, "DROP TRIGGER IF EXISTS apps_update_revision")
	if tx.Dialect().Name() == dialect.PG {
		stmts = nil
		for _, table := range appChildrenV5() {
			stmts = append(stmts, fmt.Sprintf("DROP TRIGGER IF EXISTS %s_app_revision ON %s", table, table))
		}
		stmts = append(stmts, "DROP TRIGGER IF EXISTS apps_update_revision ON apps",
			"DROP FUNCTION IF EXISTS picloud_child_app_revision()", "DROP FUNCTION IF EXISTS picloud_app_revision()")
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("drop app revision triggers: %w", err)
		}
	}
	if _, err := tx.NewDropColumn().Model((*appV1)(nil)).Column("revision").Exec(ctx); err != nil {
		return fmt.Errorf("drop column apps.revision: %w", err)
	}
	return nil
}

// sqliteRevisionTriggersV5: a trigger per change of a child row, and one
// for an update of the app row that leaves its revision alone (SQLite
// does not fire a trigger from its own statement, and the guard keeps it
// so should recursive triggers be turned on).
func sqliteRevisionTriggersV5() []string {
	var out []string
	for _, table := range appChildrenV5() {
		out = append(out,
			fmt.Sprintf(`CREATE TRIGGER %[1]s_insert_app_revision AFTER INSERT ON %[1]s BEGIN
				UPDATE apps SET revision = revision + 1 WHERE id = NEW.app_id; END`, table),
			fmt.Sprintf(`CREATE TRIGGER %[1]s_update_app_revision AFTER UPDATE ON %[1]s BEGIN
				UPDATE apps SET revision = revision + 1 WHERE id IN (OLD.app_id, NEW.app_id); END`, table),
			fmt.Sprintf(`CREATE TRIGGER %[1]s_delete_app_revision AFTER DELETE ON %[1]s BEGIN
				UPDATE apps SET revision = revision + 1 WHERE id = OLD.app_id; END`, table))
	}
	return append(out, `CREATE TRIGGER apps_update_revision AFTER UPDATE ON apps
		WHEN NEW.revision = OLD.revision BEGIN
		UPDATE apps SET revision = revision + 1 WHERE id = NEW.id; END`)
}

// postgresRevisionTriggersV5: one function for the child tables, and a
// BEFORE UPDATE trigger on apps that raises the revision in the row being
// written (unless the update sets it itself, as the child trigger does).
func postgresRevisionTriggersV5() []string {
	out := []string{
		`CREATE FUNCTION picloud_child_app_revision() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP IN ('UPDATE', 'DELETE') THEN
				UPDATE apps SET revision = revision + 1 WHERE id = OLD.app_id;
			END IF;
			IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.app_id <> OLD.app_id) THEN
				UPDATE apps SET revision = revision + 1 WHERE id = NEW.app_id;
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE FUNCTION picloud_app_revision() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			NEW.revision := OLD.revision + 1;
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER apps_update_revision BEFORE UPDATE ON apps FOR EACH ROW
			WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION picloud_app_revision()`,
	}
	for _, table := range appChildrenV5() {
		out = append(out, fmt.Sprintf(`CREATE TRIGGER %[1]s_app_revision AFTER INSERT OR UPDATE OR DELETE ON %[1]s
			FOR EACH ROW EXECUTE FUNCTION picloud_child_app_revision()`, table))
	}
	return out
}
