package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// What a fresh install is seeded with.
const (
	SeedAppSlug     = "hello"
	SeedAppName     = "Hello World"
	SeedScriptName  = "hello"
	SeedRouteMethod = "GET"
	SeedRoutePath   = "/"
)

// Seed gives a fresh install something that answers: when no app exists
// it creates the app "hello" with a script "hello" (helloSource) bound to
// GET /. When any app exists it does nothing, so it is safe at every
// start, also of several nodes at once.
func (db *DB) Seed(ctx context.Context, helloSource string) error {
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		exists, err := tx.NewSelect().Model((*App)(nil)).Exists(ctx)
		if err != nil {
			return fmt.Errorf("count apps: %w", err)
		}
		if exists {
			return nil
		}
		app := &App{Slug: SeedAppSlug, Name: SeedAppName}
		if err := createApp(ctx, tx, app); err != nil {
			return err
		}
		script, _, err := createScript(ctx, tx, app.ID, SeedScriptName, NewVersion{Source: helloSource})
		if err != nil {
			return err
		}
		return createRoute(ctx, tx, &Route{
			AppID: app.ID, ScriptID: script.ID, Method: SeedRouteMethod, Path: SeedRoutePath,
		})
	})
	if errors.Is(err, ErrConflict) {
		// Another node seeded between our check and our insert.
		return nil
	}
	if err != nil {
		return fmt.Errorf("seed hello app: %w", err)
	}
	return nil
}
