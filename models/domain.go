package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Domain is an app's claim on the hosts a domain pattern matches (see
// package domain for the grammar and the collision rule).
type Domain struct {
	bun.BaseModel `bun:"table:domains,alias:d" json:"-"`

	ID    int64 `bun:"id,pk,autoincrement" json:"id"`
	AppID int64 `bun:"app_id,notnull" json:"app_id"`
	// Pattern is normalized: "{tenant}.example.com".
	Pattern string `bun:"pattern,notnull" json:"pattern"`
	// Key is Pattern with parameter names erased; unique across apps, so
	// no two claims can ever collide.
	Key string `bun:"key,notnull" json:"-"`
	// Kind is "exact", "param" or "wildcard".
	Kind      string    `bun:"kind,notnull" json:"kind"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
}

// AfterScanRow implements bun.AfterScanRowHook.
func (d *Domain) AfterScanRow(context.Context) error {
	d.CreatedAt = d.CreatedAt.UTC()
	return nil
}
