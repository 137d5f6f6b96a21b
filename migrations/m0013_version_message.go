package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migration 0013, frozen: an optional message per script version, what
// its author said about it ("fix the totals"); versions stored before it
// have none ("").

const versionMessageColumnV13 = "message"

func versionMessage() migrate.Migration {
	return migrate.Migration{
		Name:    "0013",
		Comment: "script version message",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			_, err := m.DB().NewAddColumn().Model((*scriptVersionV1)(nil)).
				ColumnExpr("? VARCHAR NOT NULL DEFAULT ''", bun.Ident(versionMessageColumnV13)).Exec(ctx)
			if err != nil {
				return fmt.Errorf("add column script_versions.%s: %w", versionMessageColumnV13, err)
			}
			return nil
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			_, err := m.DB().NewDropColumn().Model((*scriptVersionV1)(nil)).Column(versionMessageColumnV13).Exec(ctx)
			if err != nil {
				return fmt.Errorf("drop column script_versions.%s: %w", versionMessageColumnV13, err)
			}
			return nil
		},
	}
}
