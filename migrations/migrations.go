// Package migrations owns PiCloud's database schema: one ordered set of bun
// migrations that runs unchanged on SQLite and PostgreSQL. A migration
// describes its tables with its own frozen structs, never the live models
// of package models, so a later change to a model cannot rewrite history.
// Migrations only change the schema; rows are written by package models.
//
// Add a migration by writing a file mNNNN_what.go with a function that
// returns a migrate.Migration, and listing it in all.
package migrations

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// all returns every migration, in the order they apply.
func all() *migrate.Migrations {
	ms := migrate.NewMigrations()
	ms.Add(initSchema())
	ms.Add(adminAuth())
	ms.Add(domainsSchema())
	ms.Add(scriptSettings())
	ms.Add(invariants())
	ms.Add(apiTokens())
	ms.Add(capabilities())
	ms.Add(changeNotify())
	ms.Add(invocationNode())
	ms.Add(loginLimits())
	ms.Add(appPublicErrors())
	ms.Add(parkedScripts())
	ms.Add(versionMessage())
	return ms
}

func newMigrator(db *bun.DB) *migrate.Migrator {
	return migrate.NewMigrator(db, all(), migrate.WithMarkAppliedOnSuccess(true))
}

// Run creates the migration bookkeeping tables if needed and applies every
// pending migration. It is idempotent, and on PostgreSQL safe to call from
// several processes at once (they take turns on an advisory lock, which
// the server drops should a process die holding it).
func Run(ctx context.Context, db *bun.DB) (err error) {
	unlock, err := lock(ctx, db)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, unlock()) }()

	m := newMigrator(db)
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("create migration tables: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Migration is the state of one known migration.
type Migration struct {
	Name      string
	Comment   string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every known migration with whether it has been applied. The
// bookkeeping tables must exist (Run creates them).
func Status(ctx context.Context, db *bun.DB) ([]Migration, error) {
	ms, err := newMigrator(db).MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]Migration, len(ms))
	for i, m := range ms {
		out[i] = Migration{Name: m.Name, Comment: m.Comment, Applied: m.IsApplied(), AppliedAt: m.MigratedAt}
	}
	return out, nil
}

// lock serializes migrations across processes. On PostgreSQL it holds a
// session advisory lock, keyed by the current schema, on one dedicated
// connection. SQLite needs none: its writers already take turns, and the
// bookkeeping tables are created with IF NOT EXISTS.
func lock(ctx context.Context, db *bun.DB) (unlock func() error, err error) {
	if db.Dialect().Name() != dialect.PG {
		return func() error { return nil }, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	const key = "hashtext(current_schema() || '.picloud_migrations')"
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")")
		if err != nil {
			// A connection that may still hold the lock must not go back
			// to the pool: mark it bad so database/sql closes it.
			err = fmt.Errorf("unlock migrations: %w", err)
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return errors.Join(err, conn.Close())
	}, nil
}
