package testdb_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

func TestEachRunsEveryTarget(t *testing.T) {
	var seen []string
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		seen = append(seen, tg.Name)
		if tg.DataDir == "" {
			t.Error("no data dir")
		}
		db := testdb.Open(t, tg)
		if db.Dialect() != tg.Name {
			t.Errorf("dialect %q, want %q", db.Dialect(), tg.Name)
		}
	})
	if len(seen) == 0 || seen[0] != testdb.SQLiteName {
		t.Errorf("targets run: %v, want sqlite first", seen)
	}
}

func TestTargets(t *testing.T) {
	targets := testdb.Targets(t)
	if len(targets) == 0 || targets[0].Name != testdb.SQLiteName || targets[0].URL != "" {
		t.Fatalf("Targets = %+v, want sqlite first with an empty URL", targets)
	}
	for _, tg := range targets {
		testdb.Open(t, tg)
	}
}

// TestPostgresSchemas checks that every postgres target is a schema of its
// own, invisible to the others, and gone after its test.
func TestPostgresSchemas(t *testing.T) {
	var schemas []string
	for range 2 {
		t.Run("target", func(t *testing.T) {
			tg := testdb.Postgres(t)
			u, err := url.Parse(tg.URL)
			if err != nil {
				t.Fatal(err)
			}
			schema := u.Query().Get("search_path")
			if !strings.HasPrefix(schema, "t_") {
				t.Fatalf("URL %s has search_path %q", tg.URL, schema)
			}
			schemas = append(schemas, schema)
			db := testdb.Open(t, tg)
			var current string
			if err := db.Bun().NewRaw("SELECT current_schema()").Scan(context.Background(), &current); err != nil {
				t.Fatal(err)
			}
			if current != schema {
				t.Errorf("current_schema() = %q, want %q", current, schema)
			}
			var apps int
			if err := db.Bun().NewRaw("SELECT count(*) FROM apps").Scan(context.Background(), &apps); err != nil || apps != 0 {
				t.Errorf("apps in a fresh schema = %d, %v", apps, err)
			}
			if _, err := db.Bun().NewRaw("INSERT INTO apps (slug, name, created_at, updated_at) VALUES ('x', 'x', now(), now())").Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	if len(schemas) == 0 {
		t.Skip("postgres targets skipped")
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas = %v, want two distinct", schemas)
	}
	base := os.Getenv(testdb.PostgresURLEnv)
	if base == "" {
		base = testdb.DefaultPostgresURL
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range schemas {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM pg_namespace WHERE nspname = $1", s).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("schema %s still exists after its test", s)
		}
	}
}

// helperEnv makes the test binary run TestUnreachableHelper for real.
const helperEnv = "TESTDB_UNREACHABLE_HELPER"

func TestUnreachableHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("run by TestUnreachablePostgres")
	}
	testdb.Postgres(t)
	t.Log("postgres target returned")
}

func TestUnreachablePostgres(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		wantFail bool
		wantOut  string
	}{
		{"skips outside CI", "", false, "--- SKIP"},
		{"fails under CI", "true", true, "CI=true: PostgreSQL is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachableHelper$", "-test.v")
			cmd.Env = append(os.Environ(),
				helperEnv+"=1",
				"CI="+tt.ci,
				testdb.PostgresURLEnv+"=postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2",
			)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("helper failed = %v (%v), want %v; output:\n%s", failed, err, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if strings.Contains(string(out), "postgres target returned") {
				t.Errorf("Postgres returned a target for an unreachable server:\n%s", out)
			}
		})
	}
}
