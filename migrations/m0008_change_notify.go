package migrations

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// Migration 0008, frozen: change notifications, PostgreSQL only (SQLite
// is one process's file: there is no one else to tell, and the migration
// does nothing there).
//
// Every change to what an app serves moves apps.revision (0005), so a
// trigger on apps sees them all: it sends NOTIFY picloud_changes with the
// app's id. PostgreSQL delivers a notification when, and only if, its
// transaction commits, so a node that hears it reads the committed
// change; identical notifications of one transaction arrive once.

// changesChannelV8 is the channel of migration 0008's notifications.
const changesChannelV8 = "picloud_changes"

func changeNotify() migrate.Migration {
	return migrate.Migration{
		Name:    "0008",
		Comment: "change notifications",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			if m.DB().Dialect().Name() != dialect.PG {
				return nil
			}
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, q := range []string{
					`CREATE FUNCTION picloud_notify_app_change() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN
						IF TG_OP = 'DELETE' THEN
							PERFORM pg_notify('` + changesChannelV8 + `', OLD.id::text);
						ELSE
							PERFORM pg_notify('` + changesChannelV8 + `', NEW.id::text);
						END IF;
						RETURN NULL;
					END $$`,
					`CREATE TRIGGER apps_notify_change AFTER INSERT OR UPDATE OR DELETE ON apps
						FOR EACH ROW EXECUTE FUNCTION picloud_notify_app_change()`,
				} {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return fmt.Errorf("create change notification trigger: %w", err)
					}
				}
				return nil
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			if m.DB().Dialect().Name() != dialect.PG {
				return nil
			}
			for _, q := range []string{
				"DROP TRIGGER IF EXISTS apps_notify_change ON apps",
				"DROP FUNCTION IF EXISTS picloud_notify_app_change()",
			} {
				if _, err := m.DB().ExecContext(ctx, q); err != nil {
					return fmt.Errorf("drop change notification trigger: %w", err)
				}
			}
			return nil
		},
	}
}
