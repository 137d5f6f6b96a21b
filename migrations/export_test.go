package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Undo0005 runs the Down of migration 0005 and forgets that it was
// applied, so that tests can make a database as it was before it.
func Undo0005(ctx context.Context, db *bun.DB) error {
	m := invariants()
	if err := m.Down(ctx, newMigrator(db), &m); err != nil {
		return fmt.Errorf("down 0005: %w", err)
	}
	if _, err := db.NewDelete().Table("bun_migrations").Where("name = ?", m.Name).Exec(ctx); err != nil {
		return fmt.Errorf("forget 0005: %w", err)
	}
	return nil
}
