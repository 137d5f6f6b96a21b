package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0007, frozen: what scripts reach through SDK v2.
// Every row belongs to one app and goes with it.
//
//   - kv_entries: an app's key-value storage. The key is part of the
//     primary key; on PostgreSQL it compares bytewise (COLLATE "C"), as
//     SQLite's does, so listing by prefix and paging by cursor order keys
//     the same on both. size is what the entry counts against its app's
//     quota.
//   - secrets: an app's secrets, only ever stored sealed (AES-GCM) under
//     the key named by key_id.
//   - schedules: cron triggers of a script. next_run_at is the firing a
//     scheduler claims by moving it on (compare-and-set), so exactly one
//     process runs each firing.
//   - apps gain their KV quota and fetch allow/deny lists (NULL: the
//     config default, or no list); invocations gain what started them
//     and the fetches they made.
//
// It depends on 0001 (apps, scripts, invocations) only.

type kvEntryV7 struct {
	bun.BaseModel `bun:"table:kv_entries"`

	AppID     int64      `bun:"app_id,pk"`
	Key       string     `bun:"key,pk"`
	Value     []byte     `bun:"value,notnull"`
	Size      int64      `bun:"size,notnull"`
	ExpiresAt *time.Time `bun:"expires_at"`
	UpdatedAt time.Time  `bun:"updated_at,notnull"`
}

type secretV7 struct {
	bun.BaseModel `bun:"table:secrets"`

	ID          int64     `bun:"id,pk,autoincrement"`
	AppID       int64     `bun:"app_id,notnull"`
	Name        string    `bun:"name,notnull"`
	Sealed      []byte    `bun:"sealed,notnull"`
	KeyID       string    `bun:"key_id,notnull"`
	Fingerprint string    `bun:"fingerprint,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

type scheduleV7 struct {
	bun.BaseModel `bun:"table:schedules"`

	ID          int64      `bun:"id,pk,autoincrement"`
	AppID       int64      `bun:"app_id,notnull"`
	ScriptID    int64      `bun:"script_id,notnull"`
	Cron        string     `bun:"cron,notnull"`
	Timezone    string     `bun:"timezone,notnull"`
	NextRunAt   time.Time  `bun:"next_run_at,notnull"`
	LastFiredAt *time.Time `bun:"last_fired_at"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	UpdatedAt   time.Time  `bun:"updated_at,notnull"`
}

func tablesV7() []tableV1 {
	return []tableV1{
		{
			model:       (*kvEntryV7)(nil),
			foreignKeys: []string{`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`},
			indexes:     []indexV1{{"kv_entries_expires_at_idx", false, []string{"expires_at"}}},
		},
		{
			model:       (*secretV7)(nil),
			foreignKeys: []string{`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`},
			indexes:     []indexV1{{"secrets_app_id_name_key", true, []string{"app_id", "name"}}},
		},
		{
			model: (*scheduleV7)(nil),
			foreignKeys: []string{
				`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`,
				`("script_id", "app_id") REFERENCES "scripts" ("id", "app_id") ON DELETE CASCADE`,
			},
			indexes: []indexV1{
				{"schedules_script_id_idx", false, []string{"script_id"}},
				{"schedules_next_run_at_idx", false, []string{"next_run_at"}},
			},
		},
	}
}

// columnV7 is a column 0007 adds to an existing table.
type columnV7 struct {
	model any
	name  string
	expr  string
}

func columnsV7() []columnV7 {
	return []columnV7{
		{(*appV1)(nil), "kv_max_keys", "kv_max_keys BIGINT"},
		{(*appV1)(nil), "kv_max_bytes", "kv_max_bytes BIGINT"},
		{(*appV1)(nil), "fetch_allow", "fetch_allow VARCHAR"},
		{(*appV1)(nil), "fetch_deny", "fetch_deny VARCHAR"},
		{(*invocationV1)(nil), "trigger_kind", "trigger_kind VARCHAR NOT NULL DEFAULT 'http'"},
		{(*invocationV1)(nil), "fetches", "fetches VARCHAR NOT NULL DEFAULT ''"},
	}
}

func capabilities() migrate.Migration {
	return migrate.Migration{
		Name:    "0007",
		Comment: "kv, secrets, schedules, fetch policy",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if err := createTables(ctx, tx, tablesV7()); err != nil {
					return err
				}
				if tx.Dialect().Name() == dialect.PG {
					// Bytewise order, like SQLite's: prefix ranges and
					// cursors must not depend on the database's locale.
					if _, err := tx.ExecContext(ctx, `ALTER TABLE kv_entries ALTER COLUMN key TYPE VARCHAR COLLATE "C"`); err != nil {
						return fmt.Errorf("collate kv_entries.key: %w", err)
					}
				}
				for _, c := range columnsV7() {
					if _, err := tx.NewAddColumn().Model(c.model).ColumnExpr(c.expr).Exec(ctx); err != nil {
						return fmt.Errorf("add column %s: %w", c.name, err)
					}
				}
				return nil
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				for _, c := range columnsV7() {
					if _, err := tx.NewDropColumn().Model(c.model).Column(c.name).Exec(ctx); err != nil {
						return fmt.Errorf("drop column %s: %w", c.name, err)
					}
				}
				return dropTables(ctx, tx, tablesV7())
			})
		},
	}
}
