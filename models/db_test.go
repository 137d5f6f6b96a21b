package models_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestOpenRejectsUnknownURLs(t *testing.T) {
	tests := []struct {
		name, url, dataDir, want string
	}{
		{"mysql", "mysql://root@localhost/db", t.TempDir(), "unsupported URL"},
		{"bare path", "/var/lib/picloud.db", t.TempDir(), "unsupported URL"},
		{"empty sqlite path", "sqlite://", t.TempDir(), "names no file"},
		{"no url no data dir", "", "", "no data dir"},
		{"password redacted", "mongodb://u:secret@host/db", "", "unsupported URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := models.Open(context.Background(), tt.url, tt.dataDir)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", tt.url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %v, want it to mention %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, url, dataDir, file string
	}{
		{"data dir", "", filepath.Join(dir, "data", "nested"), filepath.Join(dir, "data", "nested", "picloud.db")},
		{"sqlite url", "sqlite://" + filepath.Join(dir, "other", "x.db"), "", filepath.Join(dir, "other", "x.db")},
		{"odd characters", "sqlite://" + filepath.Join(dir, "we?ird #dir%", "y.db"), "", filepath.Join(dir, "we?ird #dir%", "y.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := models.Open(ctx, tt.url, tt.dataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := db.Dialect(); got != models.DialectSQLite {
				t.Errorf("Dialect() = %q, want %q", got, models.DialectSQLite)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tt.file); err != nil {
				t.Errorf("database file: %v", err)
			}
		})
	}
}

func TestDialect(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		if got := db.Dialect(); got != tg.Name {
			t.Errorf("Dialect() = %q, want %q", got, tg.Name)
		}
	})
}

func TestDataSurvivesReopen(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db, err := models.Open(ctx, tg.URL, tg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		app := newApp(t, db, "keep")
		script, _, err := db.CreateScript(ctx, app.ID, "s", helloSource)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.UpdateScript(ctx, script.ID, helloSource+"// v2\n"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db = testdb.Open(t, tg) // reopens and migrates again: a no-op
		got, err := db.App(ctx, "keep")
		if err != nil {
			t.Fatal(err)
		}
		if *got != *app {
			t.Errorf("app after reopen = %+v, want %+v", got, app)
		}
		live, err := db.LiveScripts(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 1 || live[0].LiveVersion != 2 || !strings.HasSuffix(live[0].Version.Source, "// v2\n") {
			t.Errorf("live scripts after reopen = %+v", live)
		}
	})
}
