package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// APIToken is a long-lived bearer token of an admin user, for automation
// (CI jobs, scripts, the CLI). It is used like a session token but does
// not slide: it lives until ExpiresAt (nil: until revoked). Only the
// SHA-256 of the token is stored.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens,alias:t" json:"-"`

	ID     int64 `bun:"id,pk,autoincrement" json:"id"`
	UserID int64 `bun:"user_id,notnull" json:"user_id"`
	// Name is unique among the tokens of one user.
	Name       string     `bun:"name,notnull" json:"name"`
	TokenHash  string     `bun:"token_hash,notnull" json:"-"`
	CreatedAt  time.Time  `bun:"created_at,notnull" json:"created_at"`
	ExpiresAt  *time.Time `bun:"expires_at" json:"expires_at"`
	LastUsedAt *time.Time `bun:"last_used_at" json:"last_used_at"`

	User *AdminUser `bun:"rel:belongs-to,join:user_id=id" json:"-"`
}

// Expired reports whether the token is past its expiry at at.
func (t *APIToken) Expired(at time.Time) bool {
	return t.ExpiresAt != nil && !at.Before(*t.ExpiresAt)
}

// AfterScanRow implements bun.AfterScanRowHook.
func (t *APIToken) AfterScanRow(context.Context) error {
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt = utcPtr(t.ExpiresAt)
	t.LastUsedAt = utcPtr(t.LastUsedAt)
	return nil
}

var _ bun.AfterScanRowHook = (*APIToken)(nil)

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
