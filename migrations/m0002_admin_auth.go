package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0002, frozen: admin users, their sessions and
// the one-time setup tokens that create the first admin.

type adminUserV2 struct {
	bun.BaseModel `bun:"table:admin_users"`

	ID       int64  `bun:"id,pk,autoincrement"`
	Username string `bun:"username,notnull"`
	// PasswordHash is an Argon2id PHC string.
	PasswordHash string `bun:"password_hash,notnull"`
	// Role is "admin" for every user until roles arrive; the column is
	// here so that they need no migration of the data.
	Role      string    `bun:"role,notnull,default:'admin'"`
	Disabled  bool      `bun:"disabled,notnull,default:false"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

type adminSessionV2 struct {
	bun.BaseModel `bun:"table:admin_sessions"`

	ID     int64 `bun:"id,pk,autoincrement"`
	UserID int64 `bun:"user_id,notnull"`
	// TokenHash is the hex SHA-256 of the session token; the token itself
	// is never stored.
	TokenHash  string    `bun:"token_hash,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
	LastUsedAt time.Time `bun:"last_used_at,notnull"`
	UserAgent  string    `bun:"user_agent,notnull,default:''"`
	IP         string    `bun:"ip,notnull,default:''"`
}

type adminSetupTokenV2 struct {
	bun.BaseModel `bun:"table:admin_setup_tokens"`

	ID        int64     `bun:"id,pk,autoincrement"`
	TokenHash string    `bun:"token_hash,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
}

func adminAuth() migrate.Migration {
	return migrate.Migration{
		Name:    "0002",
		Comment: "admin_auth",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return createV2(ctx, tx)
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return dropTables(ctx, tx, tablesV2())
			})
		},
	}
}

// tablesV2 lists the tables of migration 0002 in creation order.
func tablesV2() []tableV1 {
	return []tableV1{
		{model: (*adminUserV2)(nil)},
		{
			model: (*adminSessionV2)(nil),
			foreignKeys: []string{
				`("user_id") REFERENCES "admin_users" ("id") ON DELETE CASCADE`,
			},
			indexes: []indexV1{
				{"admin_sessions_token_hash_key", true, []string{"token_hash"}},
				{"admin_sessions_user_id_idx", false, []string{"user_id"}},
				{"admin_sessions_expires_at_idx", false, []string{"expires_at"}},
			},
		},
		{
			model: (*adminSetupTokenV2)(nil),
			indexes: []indexV1{
				{"admin_setup_tokens_token_hash_key", true, []string{"token_hash"}},
			},
		},
	}
}

func createV2(ctx context.Context, tx bun.Tx) error {
	if err := createTables(ctx, tx, tablesV2()); err != nil {
		return err
	}
	// Usernames are unique regardless of case. They are ASCII (package
	// admin validates them), so lower() folds them alike on both backends.
	q := tx.NewCreateIndex().Model((*adminUserV2)(nil)).Index("admin_users_username_key").
		Unique().ColumnExpr("lower(username)")
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("create index admin_users_username_key: %w", err)
	}
	return nil
}
