package migrations

import (
	"context"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0006, frozen: API tokens, the long-lived bearer
// tokens of automation (CI, scripts, the CLI). Like a session token, only
// the SHA-256 of a token is stored. It depends on 0002 (admin_users).

type apiTokenV6 struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID     int64 `bun:"id,pk,autoincrement"`
	UserID int64 `bun:"user_id,notnull"`
	// Name is unique per user: the handle to list and revoke it by.
	Name      string    `bun:"name,notnull"`
	TokenHash string    `bun:"token_hash,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	// ExpiresAt is NULL for a token that never expires.
	ExpiresAt  *time.Time `bun:"expires_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
}

// tablesV6 lists the tables of migration 0006.
func tablesV6() []tableV1 {
	return []tableV1{{
		model: (*apiTokenV6)(nil),
		foreignKeys: []string{
			`("user_id") REFERENCES "admin_users" ("id") ON DELETE CASCADE`,
		},
		indexes: []indexV1{
			{"api_tokens_token_hash_key", true, []string{"token_hash"}},
			{"api_tokens_user_id_name_key", true, []string{"user_id", "name"}},
			{"api_tokens_expires_at_idx", false, []string{"expires_at"}},
		},
	}}
}

func apiTokens() migrate.Migration {
	return migrate.Migration{
		Name:    "0006",
		Comment: "api tokens",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return createTables(ctx, tx, tablesV6())
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return dropTables(ctx, tx, tablesV6())
			})
		},
	}
}
