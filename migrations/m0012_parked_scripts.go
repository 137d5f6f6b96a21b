package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0012, frozen: parked scripts, shared by every
// node on the database (issue 11: a crash-looping script parked on one
// node is parked on all of them). One row per script, naming the
// version it holds: a row of a version that is no longer live, or whose
// time has passed, parks nothing. A row moves its app's revision (as the
// children of migration 0005 do), so every node hears of it through the
// change notifications and the periodic resync.

// parkedScriptV12 is the parking of one script's version.
type parkedScriptV12 struct {
	bun.BaseModel `bun:"table:parked_scripts"`

	ScriptID    int64     `bun:"script_id,pk"`
	AppID       int64     `bun:"app_id,notnull"`
	Version     int64     `bun:"version,notnull"`
	ParkedUntil time.Time `bun:"parked_until,notnull"`
	// Node is the node whose router parked it; Reason says why.
	Node     string    `bun:"node,notnull"`
	Reason   string    `bun:"reason,notnull"`
	ParkedAt time.Time `bun:"parked_at,notnull"`
}

func tablesV12() []tableV1 {
	return []tableV1{{
		model: (*parkedScriptV12)(nil),
		foreignKeys: []string{
			`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`,
			`("script_id", "app_id") REFERENCES "scripts" ("id", "app_id") ON DELETE CASCADE`,
		},
		indexes: []indexV1{{"parked_scripts_app_id_idx", false, []string{"app_id"}}},
	}}
}

// parkedRevisionTriggersV12 keep apps.revision moving with the rows of
// parked_scripts, as migration 0005's triggers do for the other
// children of an app (on PostgreSQL with 0005's function).
func parkedRevisionTriggersV12(d dialect.Name) []string {
	if d == dialect.PG {
		return []string{`CREATE TRIGGER parked_scripts_app_revision AFTER INSERT OR UPDATE OR DELETE ON parked_scripts
			FOR EACH ROW EXECUTE FUNCTION picloud_child_app_revision()`}
	}
	return []string{
		`CREATE TRIGGER parked_scripts_insert_app_revision AFTER INSERT ON parked_scripts BEGIN
			UPDATE apps SET revision = revision + 1 WHERE id = NEW.app_id; END`,
		`CREATE TRIGGER parked_scripts_update_app_revision AFTER UPDATE ON parked_scripts BEGIN
			UPDATE apps SET revision = revision + 1 WHERE id IN (OLD.app_id, NEW.app_id); END`,
		`CREATE TRIGGER parked_scripts_delete_app_revision AFTER DELETE ON parked_scripts BEGIN
			UPDATE apps SET revision = revision + 1 WHERE id = OLD.app_id; END`,
	}
}

func parkedScripts() migrate.Migration {
	return migrate.Migration{
		Name:    "0012",
		Comment: "parked scripts shared by the nodes",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if err := createTables(ctx, tx, tablesV12()); err != nil {
					return err
				}
				for _, q := range parkedRevisionTriggersV12(tx.Dialect().Name()) {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return fmt.Errorf("create parked_scripts revision trigger: %w", err)
					}
				}
				return nil
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			// Dropping the table drops its triggers.
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return dropTables(ctx, tx, tablesV12())
			})
		},
	}
}
