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
	return findApp(ctx, db.bun, ref)
}

func findApp(ctx context.Context, idb bun.IDB, ref string) (*App, error) {
	if !lookupText(ref) {
		return nil, fmt.Errorf("%w: app %q", ErrNotFound, ref)
	}
	app := new(App)
	q := idb.NewSelect().Model(app)
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
// A taken slug is ErrConflict. A slug another app used to have stops
// redirecting to it.
func (db *DB) CreateApp(ctx context.Context, app *App) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return createApp(ctx, tx, app)
	})
}

func createApp(ctx context.Context, idb bun.IDB, app *App) error {
	app.CreatedAt = normalizeTime(app.CreatedAt)
	if app.UpdatedAt.IsZero() {
		app.UpdatedAt = app.CreatedAt
	}
	app.UpdatedAt = normalizeTime(app.UpdatedAt)
	if err := releaseSlug(ctx, idb, app.Slug); err != nil {
		return err
	}
	if _, err := idb.NewInsert().Model(app).Returning("id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: app slug %q is taken", ErrConflict, app.Slug)
		}
		return fmt.Errorf("create app %q: %w", app.Slug, err)
	}
	return nil
}

// UpdateApp applies change to the app with id and returns the app as
// stored. A new slug that another app has is ErrConflict; the old slug
// is kept as a redirect to this app until another app takes it.
func (db *DB) UpdateApp(ctx context.Context, id int64, change AppChange) (*App, error) {
	var app *App
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		app = new(App)
		q := db.forUpdate(tx.NewSelect().Model(app).Where("id = ?", id))
		if err := q.Scan(ctx); err != nil {
			return notFound(err, "app %d", id)
		}
		oldSlug := app.Slug
		if change.Name != nil {
			app.Name = *change.Name
		}
		if change.Settings != nil {
			app.Settings = *change.Settings
		}
		if change.Slug != nil && *change.Slug != oldSlug {
			app.Slug = *change.Slug
			if err := releaseSlug(ctx, tx, app.Slug); err != nil {
				return err
			}
		}
		app.UpdatedAt = now()
		if _, err := tx.NewUpdate().Model(app).WherePK().Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: app slug %q is taken", ErrConflict, app.Slug)
			}
			return fmt.Errorf("update app %d: %w", id, err)
		}
		if change.Settings != nil {
			// The app's limits are its scripts' defaults: they start afresh.
			if err := unparkApp(ctx, tx, app.ID); err != nil {
				return err
			}
		}
		if app.Slug != oldSlug {
			return addRedirect(ctx, tx, oldSlug, app.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// DeleteApp deletes an app with everything it owns (scripts and their
// versions, routes, domain claims, slug redirects) in one transaction,
// and returns the row it deleted. Invocation records stay until
// retention trims them.
func (db *DB) DeleteApp(ctx context.Context, id int64) (*App, error) {
	var app *App
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		app = new(App)
		if err := tx.NewSelect().Model(app).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "app %d", id)
		}
		// The schema cascades from apps; deleting the children first
		// spells it out and does not depend on SQLite's foreign_keys
		// pragma.
		versions := tx.NewSelect().Model((*Script)(nil)).Column("id").Where("app_id = ?", id)
		if _, err := tx.NewDelete().Model((*ScriptVersion)(nil)).Where("script_id IN (?)", versions).Exec(ctx); err != nil {
			return fmt.Errorf("delete app %d: %w", id, err)
		}
		for _, model := range []any{(*Route)(nil), (*Domain)(nil), (*SlugRedirect)(nil), (*Script)(nil)} {
			if _, err := tx.NewDelete().Model(model).Where("app_id = ?", id).Exec(ctx); err != nil {
				return fmt.Errorf("delete app %d: %w", id, err)
			}
		}
		if _, err := tx.NewDelete().Model(app).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("delete app %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}
