package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0003, frozen: domain claims, the redirects an
// app's old slugs keep, and per-app script limits. It depends on 0001
// only.

type domainV3 struct {
	bun.BaseModel `bun:"table:domains"`

	ID    int64 `bun:"id,pk,autoincrement"`
	AppID int64 `bun:"app_id,notnull"`
	// Pattern is the normalized claim; Key the same with parameter names
	// erased. Two claims with one key collide, so key is unique across
	// all apps.
	Pattern   string    `bun:"pattern,notnull"`
	Key       string    `bun:"key,notnull"`
	Kind      string    `bun:"kind,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

type slugRedirectV3 struct {
	bun.BaseModel `bun:"table:slug_redirects"`

	ID        int64     `bun:"id,pk,autoincrement"`
	OldSlug   string    `bun:"old_slug,notnull"`
	AppID     int64     `bun:"app_id,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// appSettingsV3 are the per-app limits added to apps; NULL means the
// config default.
func appSettingsV3() []string {
	return []string{"timeout_ms", "max_concurrency", "max_request_body", "max_response_body"}
}

func domainsSchema() migrate.Migration {
	return migrate.Migration{
		Name:    "0003",
		Comment: "domains",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return createV3(ctx, tx)
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return dropV3(ctx, tx)
			})
		},
	}
}

func tablesV3() []tableV1 {
	return []tableV1{
		{
			model:       (*domainV3)(nil),
			foreignKeys: []string{`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`},
			indexes: []indexV1{
				{"domains_key_key", true, []string{"key"}},
				{"domains_app_id_idx", false, []string{"app_id"}},
			},
		},
		{
			model:       (*slugRedirectV3)(nil),
			foreignKeys: []string{`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`},
			indexes: []indexV1{
				{"slug_redirects_old_slug_key", true, []string{"old_slug"}},
				{"slug_redirects_app_id_idx", false, []string{"app_id"}},
			},
		},
	}
}

func createV3(ctx context.Context, tx bun.Tx) error {
	for _, col := range appSettingsV3() {
		if _, err := tx.NewAddColumn().Model((*appV1)(nil)).ColumnExpr("? BIGINT", bun.Ident(col)).Exec(ctx); err != nil {
			return fmt.Errorf("add column apps.%s: %w", col, err)
		}
	}
	for _, t := range tablesV3() {
		if err := createTableV3(ctx, tx, t); err != nil {
			return err
		}
	}
	return nil
}

func dropV3(ctx context.Context, tx bun.Tx) error {
	tables := tablesV3()
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := tx.NewDropTable().Model(tables[i].model).IfExists().Exec(ctx); err != nil {
			return fmt.Errorf("drop table: %w", err)
		}
	}
	for _, col := range appSettingsV3() {
		if _, err := tx.NewDropColumn().Model((*appV1)(nil)).Column(col).Exec(ctx); err != nil {
			return fmt.Errorf("drop column apps.%s: %w", col, err)
		}
	}
	return nil
}

// createTableV3 creates one table with its foreign keys and indexes.
func createTableV3(ctx context.Context, tx bun.Tx, t tableV1) error {
	return createTables(ctx, tx, []tableV1{t})
}
