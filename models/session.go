package models

import (
	"time"

	"github.com/uptrace/bun"
)

// Session is a logged-in admin user. Only the SHA-256 of its token is
// stored, so a copy of the database logs nobody in.
type Session struct {
	bun.BaseModel `bun:"table:admin_sessions,alias:s" json:"-"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64     `bun:"user_id,notnull" json:"user_id"`
	TokenHash string    `bun:"token_hash,notnull" json:"-"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
	// ExpiresAt moves out as the session is used (a sliding expiry).
	ExpiresAt  time.Time `bun:"expires_at,notnull" json:"expires_at"`
	LastUsedAt time.Time `bun:"last_used_at,notnull" json:"last_used_at"`
	UserAgent  string    `bun:"user_agent,notnull" json:"user_agent"`
	IP         string    `bun:"ip,notnull" json:"ip"`

	User *AdminUser `bun:"rel:belongs-to,join:user_id=id" json:"-"`
}

// SetupToken is a one-time token that creates the first admin user. Like
// a session token, only its SHA-256 is stored.
type SetupToken struct {
	bun.BaseModel `bun:"table:admin_setup_tokens,alias:st" json:"-"`

	ID        int64     `bun:"id,pk,autoincrement"`
	TokenHash string    `bun:"token_hash,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}
