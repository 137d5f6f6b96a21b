package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/picloud/picloud/route"
)

// CreateRoute stores r and sets its ID, Shape (and CreatedAt when zero).
// A route that conflicts with one of its app (the same method and path
// shape: "/users/:id" and "/users/:name") is ErrConflict naming that
// route; the database's unique shape key decides, so the rule holds
// however many processes add routes at once. A missing app or script in
// that app is ErrNotFound (the schema refuses a route of one app bound to
// another app's script); an invalid method or path is an error.
func (db *DB) CreateRoute(ctx context.Context, r *Route) error {
	err := createRoute(ctx, db.bun, r)
	if errors.Is(err, ErrConflict) {
		held := new(Route)
		lerr := db.bun.NewSelect().Model(held).
			Where("app_id = ? AND method = ? AND shape = ?", r.AppID, r.Method, r.Shape).
			Scan(ctx)
		if lerr == nil {
			return fmt.Errorf("%w: %s %s conflicts with %s %s (route %d)", ErrConflict, r.Method, r.Path, held.Method, held.Path, held.ID)
		}
	}
	return err
}

func createRoute(ctx context.Context, idb bun.IDB, r *Route) error {
	method, err := route.ValidateMethod(r.Method)
	if err != nil {
		return fmt.Errorf("create route: %w", err)
	}
	shape, err := route.Shape(r.Path)
	if err != nil {
		return fmt.Errorf("create route: %w", err)
	}
	r.Method, r.Shape = method, shape
	r.CreatedAt = normalizeTime(r.CreatedAt)
	if _, err := idb.NewInsert().Model(r).Returning("id").Exec(ctx); err != nil {
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("%w: app %d already has a route %s of the shape %s", ErrConflict, r.AppID, r.Method, r.Shape)
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: script %d in app %d", ErrNotFound, r.ScriptID, r.AppID)
		}
		return fmt.Errorf("create route %s %s: %w", r.Method, r.Path, err)
	}
	return nil
}

// Route returns one route.
func (db *DB) Route(ctx context.Context, id int64) (*Route, error) {
	r := new(Route)
	if err := db.bun.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "route %d", id)
	}
	return r, nil
}

// ScriptRoutes returns the routes bound to a script, oldest first.
func (db *DB) ScriptRoutes(ctx context.Context, scriptID int64) ([]Route, error) {
	routes := []Route{}
	if err := db.bun.NewSelect().Model(&routes).
		Where("script_id = ?", scriptID).
		Order("id").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("list routes of script %d: %w", scriptID, err)
	}
	return routes, nil
}

// AppRoutes returns every route of an app, oldest first.
func (db *DB) AppRoutes(ctx context.Context, appID int64) ([]Route, error) {
	routes := []Route{}
	if err := db.bun.NewSelect().Model(&routes).
		Where("app_id = ?", appID).
		Order("id").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("list routes of app %d: %w", appID, err)
	}
	return routes, nil
}

// DeleteRoute deletes a route and returns the row it deleted.
func (db *DB) DeleteRoute(ctx context.Context, id int64) (*Route, error) {
	var r *Route
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r = new(Route)
		if err := tx.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "route %d", id)
		}
		if _, err := tx.NewDelete().Model(r).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("delete route %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
