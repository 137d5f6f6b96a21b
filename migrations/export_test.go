package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Undo0005 runs the Down of migration 0005 and of every later one, and
// forgets that they were applied, so that tests can make a database as
// it was before 0005.
func Undo0005(ctx context.Context, db *bun.DB) error {
	for _, m := range []migrate.Migration{versionMessage(), parkedScripts(), appPublicErrors(), loginLimits(), invocationNode(), changeNotify(), capabilities(), apiTokens(), invariants()} {
		if err := m.Down(ctx, newMigrator(db), &m); err != nil {
			return fmt.Errorf("down %s: %w", m.Name, err)
		}
		if _, err := db.NewDelete().Table("bun_migrations").Where("name = ?", m.Name).Exec(ctx); err != nil {
			return fmt.Errorf("forget %s: %w", m.Name, err)
		}
	}
	return nil
}
