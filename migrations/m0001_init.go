package migrations

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The schema of migration 0001, frozen: these structs describe the tables
// as this migration creates them, whatever the models look like later.

type appV1 struct {
	bun.BaseModel `bun:"table:apps"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Slug      string    `bun:"slug,notnull"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

type scriptV1 struct {
	bun.BaseModel `bun:"table:scripts"`

	ID          int64     `bun:"id,pk,autoincrement"`
	AppID       int64     `bun:"app_id,notnull"`
	Name        string    `bun:"name,notnull"`
	LiveVersion int64     `bun:"live_version,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

type scriptVersionV1 struct {
	bun.BaseModel `bun:"table:script_versions"`

	ID        int64     `bun:"id,pk,autoincrement"`
	ScriptID  int64     `bun:"script_id,notnull"`
	Version   int64     `bun:"version,notnull"`
	Source    string    `bun:"source,notnull"`
	Hash      string    `bun:"hash,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

type routeV1 struct {
	bun.BaseModel `bun:"table:routes"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AppID     int64     `bun:"app_id,notnull"`
	ScriptID  int64     `bun:"script_id,notnull"`
	Method    string    `bun:"method,notnull"`
	Path      string    `bun:"path,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

type invocationV1 struct {
	bun.BaseModel `bun:"table:invocations"`

	ID         int64     `bun:"id,pk,autoincrement"`
	RequestID  string    `bun:"request_id,notnull"`
	AppID      int64     `bun:"app_id,notnull"`
	ScriptID   int64     `bun:"script_id,notnull"`
	Version    int64     `bun:"version,notnull"`
	RouteID    int64     `bun:"route_id,notnull"`
	Method     string    `bun:"method,notnull"`
	Path       string    `bun:"path,notnull"`
	Status     int       `bun:"status,notnull"`
	DurationUS int64     `bun:"duration_us,notnull"`
	Output     string    `bun:"output,notnull"`
	Error      string    `bun:"error,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// tableV1 is one table of the initial schema with its foreign keys and
// indexes.
type tableV1 struct {
	model       any
	foreignKeys []string
	indexes     []indexV1
}

// indexV1 is one index of the initial schema.
type indexV1 struct {
	name    string
	unique  bool
	columns []string
}

func initSchema() migrate.Migration {
	return migrate.Migration{
		Name:    "0001",
		Comment: "init",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return createTables(ctx, tx, tablesV1())
			})
		},
		Down: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return dropTables(ctx, tx, tablesV1())
			})
		},
	}
}

// tablesV1 lists the tables in creation order: a parent, and the unique
// index a foreign key refers to, before the table holding the key.
func tablesV1() []tableV1 {
	return []tableV1{
		{
			model:   (*appV1)(nil),
			indexes: []indexV1{{"apps_slug_key", true, []string{"slug"}}},
		},
		{
			model: (*scriptV1)(nil),
			foreignKeys: []string{
				`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`,
			},
			indexes: []indexV1{
				{"scripts_app_id_name_key", true, []string{"app_id", "name"}},
				// The target of the routes (script_id, app_id) foreign key.
				{"scripts_id_app_id_key", true, []string{"id", "app_id"}},
			},
		},
		{
			model: (*scriptVersionV1)(nil),
			foreignKeys: []string{
				`("script_id") REFERENCES "scripts" ("id") ON DELETE CASCADE`,
			},
			indexes: []indexV1{
				{"script_versions_script_id_version_key", true, []string{"script_id", "version"}},
			},
		},
		{
			// A route's script must belong to the route's app: the
			// composite key refuses a route of one app bound to another
			// app's script.
			model: (*routeV1)(nil),
			foreignKeys: []string{
				`("app_id") REFERENCES "apps" ("id") ON DELETE CASCADE`,
				`("script_id", "app_id") REFERENCES "scripts" ("id", "app_id") ON DELETE CASCADE`,
			},
			indexes: []indexV1{
				{"routes_app_id_method_path_key", true, []string{"app_id", "method", "path"}},
				{"routes_script_id_idx", false, []string{"script_id"}},
			},
		},
		{
			// Invocation logs keep no foreign keys: they outlive what they
			// name, are written in batches that a deleted script must not
			// fail, and are trimmed by retention.
			model: (*invocationV1)(nil),
			indexes: []indexV1{
				{"invocations_request_id_idx", false, []string{"request_id"}},
				{"invocations_app_id_created_at_idx", false, []string{"app_id", "created_at"}},
				{"invocations_script_id_created_at_idx", false, []string{"script_id", "created_at"}},
				{"invocations_created_at_idx", false, []string{"created_at"}},
			},
		},
	}
}

// createTables creates tables with their foreign keys and indexes, in
// order.
func createTables(ctx context.Context, tx bun.Tx, tables []tableV1) error {
	for _, t := range tables {
		q := tx.NewCreateTable().Model(t.model)
		for _, fk := range t.foreignKeys {
			q = q.ForeignKey(fk)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("create table %s: %w", q.GetTableName(), err)
		}
		for _, ix := range t.indexes {
			q := tx.NewCreateIndex().Model(t.model).Index(ix.name).Column(ix.columns...)
			if ix.unique {
				q = q.Unique()
			}
			if _, err := q.Exec(ctx); err != nil {
				return fmt.Errorf("create index %s: %w", ix.name, err)
			}
		}
	}
	return nil
}

// dropTables drops tables in the reverse of their creation order.
func dropTables(ctx context.Context, tx bun.Tx, tables []tableV1) error {
	for i := len(tables) - 1; i >= 0; i-- {
		q := tx.NewDropTable().Model(tables[i].model).IfExists()
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("drop table: %w", err)
		}
	}
	return nil
}
