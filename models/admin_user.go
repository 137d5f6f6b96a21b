package models

import (
	"time"

	"github.com/uptrace/bun"
)

// RoleAdmin is the only role so far: full access to the admin API.
const RoleAdmin = "admin"

// AdminUser is a person who may use the admin API. Usernames are unique
// regardless of case. The password is kept only as an Argon2id PHC string
// and never leaves the server: it has no JSON form.
type AdminUser struct {
	bun.BaseModel `bun:"table:admin_users,alias:u" json:"-"`

	ID           int64     `bun:"id,pk,autoincrement" json:"id"`
	Username     string    `bun:"username,notnull" json:"username"`
	PasswordHash string    `bun:"password_hash,notnull" json:"-"`
	Role         string    `bun:"role,notnull" json:"role"`
	Disabled     bool      `bun:"disabled,notnull" json:"disabled"`
	CreatedAt    time.Time `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at,notnull" json:"updated_at"`
}
