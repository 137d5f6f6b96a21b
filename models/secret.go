package models

import (
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Bounds of secrets.
const (
	// MaxSecretName is the longest secret name.
	MaxSecretName = 128
	// MaxSecretValue is the largest secret value, in bytes.
	MaxSecretValue = 64 << 10
)

// Secret is one secret of an app, stored only sealed: package secrets
// seals and opens it, bound to the app and the name, under the key named
// KeyID. Nothing of the value leaves here but Fingerprint, a keyed hash
// short enough to tell two values apart and useless to guess one.
type Secret struct {
	bun.BaseModel `bun:"table:secrets,alias:sec" json:"-"`

	ID          int64     `bun:"id,pk,autoincrement" json:"-"`
	AppID       int64     `bun:"app_id,notnull" json:"-"`
	Name        string    `bun:"name,notnull" json:"name"`
	Sealed      []byte    `bun:"sealed,notnull" json:"-"`
	KeyID       string    `bun:"key_id,notnull" json:"key_id"`
	Fingerprint string    `bun:"fingerprint,notnull" json:"fingerprint"`
	CreatedAt   time.Time `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at,notnull" json:"updated_at"`
}

// ValidateSecretName reports what is wrong with name, or nil: like an
// environment variable, a letter or '_' then letters, digits and '_', at
// most MaxSecretName of them.
func ValidateSecretName(name string) error {
	if name == "" || len(name) > MaxSecretName {
		return fmt.Errorf("secret name must be 1 to %d characters, got %d", MaxSecretName, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("secret name %q: use letters, digits and '_', starting with a letter or '_' (like API_KEY)", name)
		}
	}
	return nil
}
