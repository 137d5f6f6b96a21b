package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/picloud/picloud/migrations"
)

// Dialect names returned by (*DB).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

const (
	// sqliteFileName is the database file inside the data dir when no
	// database URL is configured.
	sqliteFileName = "picloud.db"
	// sqlitePragmas are applied by the driver to every new connection:
	// cascading foreign keys, WAL so readers never block the writer, a
	// busy timeout so a writer waits for another instead of failing, and
	// BEGIN IMMEDIATE so a transaction takes the write lock up front (a
	// deferred one that upgrades later can fail at once with SQLITE_BUSY,
	// whatever the timeout).
	sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate"
	// sqliteMaxConns bounds SQLite connections: writers serialize inside
	// SQLite anyway, a few connections let readers run beside them.
	sqliteMaxConns = 4
	// postgresMaxConns bounds the PostgreSQL pool of one process.
	postgresMaxConns = 16
)

// DB is PiCloud's database handle. It is safe for concurrent use.
type DB struct {
	bun     *bun.DB
	dialect string
	// dsn is the PostgreSQL URL, for the connection ListenChanges holds
	// outside the pool.
	dsn string
}

// Open connects to the database named by url without migrating it:
//
//   - "" opens (creating if needed) the SQLite file picloud.db in dataDir;
//   - "sqlite://PATH" opens the SQLite file at PATH ("sqlite:///abs/x.db");
//   - "postgres://..." or "postgresql://..." connects to PostgreSQL
//     (search_path and other runtime parameters may be given as query
//     parameters).
//
// Call (*DB).Migrate before first use.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	switch {
	case url == "":
		if dataDir == "" {
			return nil, errors.New("open database: no database URL and no data dir")
		}
		return openSQLite(ctx, filepath.Join(dataDir, sqliteFileName))
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			return nil, fmt.Errorf("open database: %q names no file (want sqlite:///path/to/picloud.db)", url)
		}
		return openSQLite(ctx, path)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	default:
		return nil, fmt.Errorf("open database: unsupported URL %q (want empty for SQLite in the data dir, sqlite://PATH, postgres:// or postgresql://)", redact(url))
	}
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite %s: create directory: %w", path, err)
	}
	sqldb, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(sqliteMaxConns)
	sqldb.SetMaxIdleConns(sqliteMaxConns)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &DB{bun: bun.NewDB(sqldb, sqlitedialect.New()), dialect: DialectSQLite}, nil
}

// sqliteDSN turns a file path into the driver's URI form, escaping the
// characters that URI syntax would otherwise read as delimiters.
func sqliteDSN(path string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + sqlitePragmas
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	sqldb.SetMaxOpenConns(postgresMaxConns)
	sqldb.SetMaxIdleConns(postgresMaxConns / 2)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	return &DB{bun: bun.NewDB(sqldb, pgdialect.New()), dialect: DialectPostgres, dsn: dsn}, nil
}

// redact hides the password of a URL so it can go into an error.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Close closes every connection of the database.
func (db *DB) Close() error {
	return db.bun.Close()
}

// Dialect names the backend: DialectSQLite ("sqlite") or DialectPostgres
// ("postgres").
func (db *DB) Dialect() string {
	return db.dialect
}

// Bun returns the underlying bun handle, for package migrations and for
// tests that inspect the schema. Other packages must not write through it:
// writes go through the queries of this package.
func (db *DB) Bun() *bun.DB {
	return db.bun
}

// Migrate applies every pending migration; it is idempotent.
func (db *DB) Migrate(ctx context.Context) error {
	if err := migrations.Run(ctx, db.bun); err != nil {
		return fmt.Errorf("migrate %s database: %w", db.dialect, err)
	}
	return nil
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return db.bun.RunInTx(ctx, nil, fn)
}

// forUpdate locks the selected rows until the end of the transaction on
// PostgreSQL. SQLite has no row locks and needs none: its transactions
// begin IMMEDIATE, so writers already run one at a time.
func (db *DB) forUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if db.dialect == DialectPostgres {
		return q.For("UPDATE")
	}
	return q
}
