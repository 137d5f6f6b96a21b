package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0004, frozen: per-script limits, added to
// scripts (NULL means the app's setting, or the config default), and the
// output limit added to the apps' limits.

func scriptSettingsV4() []string {
	return []string{"timeout_ms", "max_concurrency", "max_output", "max_response_body"}
}

func appSettingsV4() []string {
	return []string{"max_output"}
}

func scriptSettings() migrate.Migration {
	return migrate.Migration{
		Name:    "0004",
		Comment: "script settings, app output limit",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, col := range scriptSettingsV4() {
					_, err := tx.NewAddColumn().Model((*scriptV1)(nil)).ColumnExpr("? BIGINT", bun.Ident(col)).Exec(ctx)
					if err != nil {
						return fmt.Errorf("add column scripts.%s: %w", col, err)
					}
				}
				for _, col := range appSettingsV4() {
					_, err := tx.NewAddColumn().Model((*appV1)(nil)).ColumnExpr("? BIGINT", bun.Ident(col)).Exec(ctx)
					if err != nil {
						return fmt.Errorf("add column apps.%s: %w", col, err)
					}
				}
				return nil
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, col := range scriptSettingsV4() {
					if _, err := tx.NewDropColumn().Model((*scriptV1)(nil)).Column(col).Exec(ctx); err != nil {
						return fmt.Errorf("drop column scripts.%s: %w", col, err)
					}
				}
				for _, col := range appSettingsV4() {
					if _, err := tx.NewDropColumn().Model((*appV1)(nil)).Column(col).Exec(ctx); err != nil {
						return fmt.Errorf("drop column apps.%s: %w", col, err)
					}
				}
				return nil
			})
		},
	}
}
