package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestAppRevisions: every change to what an app serves raises its
// revision, and only its own.
func TestAppRevisions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		other := newApp(t, db, "b")
		var script *models.Script
		var route *models.Route
		var dom *models.Domain
		name, slug := "renamed", "a2"
		n := int64(3)
		changes := []struct {
			name   string
			change func() error
		}{
			{"create script", func() error { script = newScript(t, db, app.ID, "s"); return nil }},
			{"new version", func() error { _, _, err := db.UpdateScript(ctx, script.ID, helloSource+"\n"); return err }},
			{"rollback", func() error { _, err := db.RollbackScript(ctx, script.ID, 1); return err }},
			{"script settings", func() error {
				_, err := db.UpdateScriptSettings(ctx, script.ID, models.ScriptSettings{MaxConcurrency: &n})
				return err
			}},
			{"create route", func() error { route = newRoute(t, db, script, "GET", "/x"); return nil }},
			{"delete route", func() error { _, err := db.DeleteRoute(ctx, route.ID); return err }},
			{"claim domain", func() error {
				dom = &models.Domain{AppID: app.ID, Pattern: "a.example.com", Key: "a.example.com", Kind: "exact"}
				return db.CreateDomain(ctx, dom)
			}},
			{"drop domain", func() error { _, err := db.DeleteDomain(ctx, app.ID, dom.ID); return err }},
			{"rename", func() error { _, err := db.UpdateApp(ctx, app.ID, models.AppChange{Name: &name}); return err }},
			{"new slug", func() error { _, err := db.UpdateApp(ctx, app.ID, models.AppChange{Slug: &slug}); return err }},
			{"app settings", func() error {
				_, err := db.UpdateApp(ctx, app.ID, models.AppChange{Settings: &models.AppSettings{MaxConcurrency: &n}})
				return err
			}},
			{"delete script", func() error { return db.DeleteScript(ctx, script.ID) }},
		}
		otherRev, err := db.AppRevision(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			before, err := db.AppRevision(ctx, app.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.change(); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			revs, err := db.AppRevisions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if revs[app.ID] <= before {
				t.Errorf("%s: revision %d, was %d", c.name, revs[app.ID], before)
			}
			if revs[other.ID] != otherRev {
				t.Errorf("%s: the other app's revision moved from %d to %d", c.name, otherRev, revs[other.ID])
			}
		}
		if _, err := db.DeleteApp(ctx, app.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AppRevision(ctx, app.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("revision of a deleted app: %v, want ErrNotFound", err)
		}
		if revs, _ := db.AppRevisions(ctx); len(revs) != 1 || revs[other.ID] != otherRev {
			t.Errorf("revisions after the delete: %v", revs)
		}
	})
}
