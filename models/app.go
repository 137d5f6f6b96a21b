package models

import (
	"time"

	"github.com/uptrace/bun"
)

// App is the isolation boundary: it owns scripts, routes and (later) every
// other kind of user data, all of which carry its id.
type App struct {
	bun.BaseModel `bun:"table:apps,alias:a" json:"-"`

	ID int64 `bun:"id,pk,autoincrement" json:"id"`
	// Slug names the app in URLs and host names; unique.
	Slug      string    `bun:"slug,notnull" json:"slug"`
	Name      string    `bun:"name,notnull" json:"name"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt time.Time `bun:"updated_at,notnull" json:"updated_at"`
}
