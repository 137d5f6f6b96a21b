package migrations

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migration 0005, frozen: rules that must hold however many processes
// write to the database, kept by the database.
//
// Route shapes. Two routes of one app and method conflict when their
// paths have the same shape (route.Shape): "/users/:id" and
// "/users/:name". routes.shape holds it, unique per app and method, so no
// two writers can both add one of a conflicting pair.

const routesShapeIndexV5 = "routes_app_id_method_shape_key"

func invariants() migrate.Migration {
	return migrate.Migration{
		Name:    "0005",
		Comment: "route shapes",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return addRouteShapes(ctx, tx)
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
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

// addRouteShapes adds routes.shape, fills it in for the stored routes and
// makes it unique per app and method. Stored routes that already conflict
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
