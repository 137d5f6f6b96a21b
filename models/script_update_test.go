package models_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestUpdateWithLiveSourceMakesNoVersion: deploying the source that is
// live again changes nothing, while the source of an older version makes
// a new one (it is a change from what serves).
func TestUpdateWithLiveSourceMakesNoVersion(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		script := newScript(t, db, app.ID, "s") // version 1: helloSource
		v2src := helloSource + "// v2\n"

		steps := []struct {
			name     string
			source   string
			wantLive int64
			wantAll  int
		}{
			{"same as live", helloSource, 1, 1},
			{"a change", v2src, 2, 2},
			{"the change again", v2src, 2, 2},
			{"back to the first source", helloSource, 3, 3},
		}
		for _, st := range steps {
			updated, version, err := db.UpdateScript(ctx, script.ID, st.source)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if updated.LiveVersion != st.wantLive || version.Version != st.wantLive || version.Source != st.source || version.Hash != models.SourceHash(st.source) {
				t.Fatalf("%s: script %+v, version %+v; want live %d", st.name, updated, version, st.wantLive)
			}
			versions, err := db.ScriptVersions(ctx, script.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(versions) != st.wantAll {
				t.Fatalf("%s: %d versions stored, want %d", st.name, len(versions), st.wantAll)
			}
		}
	})
}
