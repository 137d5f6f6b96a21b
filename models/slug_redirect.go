package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// SlugRedirect keeps an app's former slug answering: requests for
// {old_slug}.{base_domain} are redirected to the app's current slug until
// another app takes the old one.
type SlugRedirect struct {
	bun.BaseModel `bun:"table:slug_redirects,alias:sr" json:"-"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	OldSlug   string    `bun:"old_slug,notnull" json:"old_slug"`
	AppID     int64     `bun:"app_id,notnull" json:"app_id"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
}

// AfterScanRow implements bun.AfterScanRowHook.
func (r *SlugRedirect) AfterScanRow(context.Context) error {
	r.CreatedAt = r.CreatedAt.UTC()
	return nil
}

// SlugRedirects returns every kept slug, ordered by it.
func (db *DB) SlugRedirects(ctx context.Context) ([]SlugRedirect, error) {
	out := []SlugRedirect{}
	if err := db.bun.NewSelect().Model(&out).Order("old_slug").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list slug redirects: %w", err)
	}
	return out, nil
}

// releaseSlug drops the redirect of slug, which an app is about to take.
func releaseSlug(ctx context.Context, idb bun.IDB, slug string) error {
	if _, err := idb.NewDelete().Model((*SlugRedirect)(nil)).Where("old_slug = ?", slug).Exec(ctx); err != nil {
		return fmt.Errorf("release slug %q: %w", slug, err)
	}
	return nil
}

// addRedirect keeps oldSlug pointing at app appID.
func addRedirect(ctx context.Context, idb bun.IDB, oldSlug string, appID int64) error {
	if err := releaseSlug(ctx, idb, oldSlug); err != nil {
		return err
	}
	r := &SlugRedirect{OldSlug: oldSlug, AppID: appID, CreatedAt: now()}
	if _, err := idb.NewInsert().Model(r).Exec(ctx); err != nil {
		return fmt.Errorf("keep slug %q for app %d: %w", oldSlug, appID, err)
	}
	return nil
}
