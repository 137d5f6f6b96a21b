package models

import (
	"context"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"
)

// ListApps returns every app, ordered by slug.
func (db *DB) ListApps(ctx context.Context) ([]App, error) {
	apps := []App{}
	if err := db.bun.NewSelect().Model(&apps).Order("slug").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return apps, nil
}

// App returns the app named by ref: a numeric id, or else a slug.
func (db *DB) App(ctx context.Context, ref string) (*App, error) {
	app := new(App)
	q := db.bun.NewSelect().Model(app)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q = q.Where("id = ?", id)
	} else {
		q = q.Where("slug = ?", ref)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "app %q", ref)
	}
	return app, nil
}

// CreateApp stores app and sets its ID (and its timestamps when zero).
// A taken slug is ErrConflict.
func (db *DB) CreateApp(ctx context.Context, app *App) error {
	return createApp(ctx, db.bun, app)
}

func createApp(ctx context.Context, idb bun.IDB, app *App) error {
	app.CreatedAt = normalizeTime(app.CreatedAt)
	if app.UpdatedAt.IsZero() {
		app.UpdatedAt = app.CreatedAt
	}
	app.UpdatedAt = normalizeTime(app.UpdatedAt)
	if _, err := idb.NewInsert().Model(app).Returning("id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: app slug %q is taken", ErrConflict, app.Slug)
		}
		return fmt.Errorf("create app %q: %w", app.Slug, err)
	}
	return nil
}
