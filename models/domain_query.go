package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// CreateDomain stores a claim and sets its ID (and CreatedAt when zero).
// A claim whose key another claim has is ErrConflict naming the app that
// holds it; a missing app is ErrNotFound.
func (db *DB) CreateDomain(ctx context.Context, d *Domain) error {
	d.CreatedAt = normalizeTime(d.CreatedAt)
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := claimedBy(ctx, tx, d); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(d).Returning("id").Exec(ctx); err != nil {
			switch {
			case isUniqueViolation(err):
				// Claimed between our check and our insert.
				return fmt.Errorf("%w: domain %s was claimed at the same time by another request", ErrConflict, d.Pattern)
			case isForeignKeyViolation(err):
				return fmt.Errorf("%w: app %d", ErrNotFound, d.AppID)
			}
			return fmt.Errorf("claim domain %s: %w", d.Pattern, err)
		}
		return nil
	})
}

// claimedBy returns ErrConflict when d's key is already claimed.
func claimedBy(ctx context.Context, idb bun.IDB, d *Domain) error {
	var held struct {
		Pattern string `bun:"pattern"`
		AppID   int64  `bun:"app_id"`
		Slug    string `bun:"slug"`
	}
	err := idb.NewSelect().
		TableExpr("domains AS d").
		ColumnExpr("d.pattern, d.app_id, a.slug").
		Join("JOIN apps AS a ON a.id = d.app_id").
		Where("d.key = ?", d.Key).
		Scan(ctx, &held)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check claims on %s: %w", d.Pattern, err)
	case held.AppID == d.AppID && held.Pattern == d.Pattern:
		return fmt.Errorf("%w: this app already claims %s", ErrConflict, d.Pattern)
	case held.AppID == d.AppID:
		return fmt.Errorf("%w: domain %s collides with this app's claim %s (only the parameter names differ)", ErrConflict, d.Pattern, held.Pattern)
	case held.Pattern == d.Pattern:
		return fmt.Errorf("%w: domain %s is claimed by app %q", ErrConflict, d.Pattern, held.Slug)
	}
	return fmt.Errorf("%w: domain %s collides with %s, claimed by app %q (only the parameter names differ)", ErrConflict, d.Pattern, held.Pattern, held.Slug)
}

// AppDomains returns the claims of an app, oldest first.
func (db *DB) AppDomains(ctx context.Context, appID int64) ([]Domain, error) {
	out := []Domain{}
	if err := db.bun.NewSelect().Model(&out).Where("app_id = ?", appID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list domains of app %d: %w", appID, err)
	}
	return out, nil
}

// AllDomains returns every claim of every app, oldest first.
func (db *DB) AllDomains(ctx context.Context) ([]Domain, error) {
	out := []Domain{}
	if err := db.bun.NewSelect().Model(&out).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	return out, nil
}

// DeleteDomain deletes claim id of app appID and returns it. A claim of
// another app is ErrNotFound, exactly like one that does not exist.
func (db *DB) DeleteDomain(ctx context.Context, appID, id int64) (*Domain, error) {
	var d *Domain
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		d = new(Domain)
		if err := tx.NewSelect().Model(d).Where("id = ? AND app_id = ?", id, appID).Scan(ctx); err != nil {
			return notFound(err, "domain %d of app %d", id, appID)
		}
		if _, err := tx.NewDelete().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("delete domain %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
