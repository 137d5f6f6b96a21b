// Package testdb gives tests a fresh, isolated database on every backend
// PiCloud supports: an SQLite file in a temporary data dir, and a
// PostgreSQL schema of its own that is dropped when the test ends. Every
// test that touches the database runs through Each (or Targets), so it runs
// on both.
//
// PostgreSQL is reached at PICLOUD_TEST_POSTGRES_URL, by default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When it cannot
// be reached the postgres cases are skipped, except under CI=true, where
// that fails the test: CI must never pass without PostgreSQL.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/picloud/picloud/models"
)

// Names of the targets.
const (
	SQLiteName   = "sqlite"
	PostgresName = "postgres"
)

const (
	// DefaultPostgresURL is the server the tests use unless
	// PICLOUD_TEST_POSTGRES_URL names another.
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// PostgresURLEnv overrides DefaultPostgresURL.
	PostgresURLEnv = "PICLOUD_TEST_POSTGRES_URL"
	// connectTimeout bounds reaching PostgreSQL.
	connectTimeout = 5 * time.Second
)

// Target is one isolated database for one test.
type Target struct {
	// Name is SQLiteName or PostgresName.
	Name string
	// URL is what the binary takes as PICLOUD_DATABASE_URL (and
	// models.Open as url): "" for SQLite, meaning picloud.db in DataDir.
	URL string
	// DataDir is an empty temporary directory, removed after the test.
	DataDir string
}

// Each runs fn as a subtest per target, named "sqlite" and "postgres",
// each on a database of its own.
func Each(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Helper()
	t.Run(SQLiteName, func(t *testing.T) {
		fn(t, SQLite(t))
	})
	t.Run(PostgresName, func(t *testing.T) {
		fn(t, Postgres(t))
	})
}

// Targets returns a fresh SQLite target and, when PostgreSQL is reachable,
// a fresh PostgreSQL one, both cleaned up with t. Outside CI an unreachable
// PostgreSQL is logged and left out; under CI=true it fails the test.
// Prefer Each, which reports the skip per subtest.
func Targets(t testing.TB) []Target {
	t.Helper()
	targets := []Target{SQLite(t)}
	pg, err := newPostgres(t)
	switch {
	case err == nil:
		targets = append(targets, pg)
	case inCI():
		t.Fatalf("testdb: %v (CI=true: PostgreSQL is required)", err)
	default:
		t.Logf("testdb: leaving out postgres: %v", err)
	}
	return targets
}

// SQLite returns a target on a new SQLite file in a temporary data dir.
func SQLite(t testing.TB) Target {
	t.Helper()
	return Target{Name: SQLiteName, URL: "", DataDir: t.TempDir()}
}

// Postgres returns a target on a new schema of the test PostgreSQL
// database, dropped when t ends. It skips t when PostgreSQL is unreachable,
// or fails it under CI=true.
func Postgres(t testing.TB) Target {
	t.Helper()
	tg, err := newPostgres(t)
	if err != nil {
		if inCI() {
			t.Fatalf("testdb: %v (CI=true: PostgreSQL is required)", err)
		}
		t.Skipf("testdb: skipping postgres: %v (start PostgreSQL or set %s)", err, PostgresURLEnv)
	}
	return tg
}

// Open opens and migrates the target's database, closed when t ends.
func Open(t testing.TB, tg Target) *models.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := models.Open(ctx, tg.URL, tg.DataDir)
	if err != nil {
		t.Fatalf("testdb: open %s: %v", tg.Name, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("testdb: close %s: %v", tg.Name, err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("testdb: migrate %s: %v", tg.Name, err)
	}
	return db
}

func inCI() bool {
	return os.Getenv("CI") == "true"
}

func baseURL() string {
	if u := os.Getenv(PostgresURLEnv); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// newPostgres creates a schema of its own for t and returns a target whose
// URL puts it first on the search path. The schema is dropped with
// everything in it when t ends.
func newPostgres(t testing.TB) (Target, error) {
	t.Helper()
	base := baseURL()
	admin, err := connect(base)
	if err != nil {
		return Target{}, err
	}
	defer admin.Close()

	schema := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return Target{}, fmt.Errorf("create schema %s: %w", schema, err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })

	u, err := url.Parse(base)
	if err != nil {
		return Target{}, fmt.Errorf("parse %s: %w", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Target{Name: PostgresName, URL: u.String(), DataDir: t.TempDir()}, nil
}

// connect opens a pool on dsn and checks that the server answers.
func connect(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w", redact(dsn), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("PostgreSQL at %s is unreachable: %w", redact(dsn), err)
	}
	return db, nil
}

func dropSchema(t testing.TB, base, schema string) {
	admin, err := connect(base)
	if err != nil {
		t.Errorf("testdb: drop schema %s: %v", schema, err)
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		t.Errorf("testdb: drop schema %s: %v", schema, err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
