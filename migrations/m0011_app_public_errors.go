package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0011, frozen: an app's public_errors setting,
// NULL for the server's server.public_errors.

func appPublicErrors() migrate.Migration {
	return migrate.Migration{
		Name:    "0011",
		Comment: "app setting public_errors",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			_, err := m.DB().NewAddColumn().Model((*appV1)(nil)).ColumnExpr("? BOOLEAN", bun.Ident("public_errors")).Exec(ctx)
			if err != nil {
				return fmt.Errorf("add column apps.public_errors: %w", err)
			}
			return nil
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			if _, err := m.DB().NewDropColumn().Model((*appV1)(nil)).Column("public_errors").Exec(ctx); err != nil {
				return fmt.Errorf("drop column apps.public_errors: %w", err)
			}
			return nil
		},
	}
}
