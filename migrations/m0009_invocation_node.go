package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migration 0009, frozen: the node that ran an invocation. Rows logged
// before it name no node (""). The list filters by node and pages by
// time, as by app and script (0001), hence the index.

const (
	invocationNodeColumnV9 = "node"
	invocationNodeIndexV9  = "invocations_node_created_at_idx"
)

func invocationNode() migrate.Migration {
	return migrate.Migration{
		Name:    "0009",
		Comment: "invocation node",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.NewAddColumn().Model((*invocationV1)(nil)).
					ColumnExpr("? VARCHAR NOT NULL DEFAULT ''", bun.Ident(invocationNodeColumnV9)).Exec(ctx); err != nil {
					return fmt.Errorf("add column invocations.%s: %w", invocationNodeColumnV9, err)
				}
				if _, err := tx.NewCreateIndex().Model((*invocationV1)(nil)).Index(invocationNodeIndexV9).
					Column(invocationNodeColumnV9, "created_at").Exec(ctx); err != nil {
					return fmt.Errorf("create index %s: %w", invocationNodeIndexV9, err)
				}
				return nil
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.NewDropIndex().Model((*invocationV1)(nil)).Index(invocationNodeIndexV9).IfExists().Exec(ctx); err != nil {
					return fmt.Errorf("drop index %s: %w", invocationNodeIndexV9, err)
				}
				if _, err := tx.NewDropColumn().Model((*invocationV1)(nil)).Column(invocationNodeColumnV9).Exec(ctx); err != nil {
					return fmt.Errorf("drop column invocations.%s: %w", invocationNodeColumnV9, err)
				}
				return nil
			})
		},
	}
}
