package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestParkScript: a parking is stored once per script (the latest
// wins), read back while it holds, moves its app's revision (that is how
// the other nodes hear of it), and goes with a new live version, new
// settings of the script or of its app, and with the script.
func TestParkScript(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		s := newScript(t, db, app.ID, "s")
		other := newScript(t, db, app.ID, "other")
		at := time.Now()
		park := func(script *models.Script, node string, until time.Time) {
			t.Helper()
			err := db.ParkScript(ctx, models.ParkedScript{ScriptID: script.ID, AppID: app.ID, Version: script.LiveVersion,
				ParkedUntil: until, Node: node, Reason: "crashed 6 times\x00"})
			if err != nil {
				t.Fatal(err)
			}
		}
		parked := func() map[int64]models.ParkedScript {
			t.Helper()
			ps, err := db.ParkedScripts(ctx, app.ID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			out := map[int64]models.ParkedScript{}
			for _, p := range ps {
				out[p.ScriptID] = p
			}
			return out
		}

		rev, _ := db.AppRevision(ctx, app.ID)
		park(s, "n1", at.Add(time.Minute))
		if r, _ := db.AppRevision(ctx, app.ID); r == rev {
			t.Error("parking left the app's revision alone")
		}
		park(s, "n2", at.Add(2*time.Minute))
		park(other, "n1", at.Add(-time.Second)) // over already
		got := parked()
		p, ok := got[s.ID]
		if len(got) != 1 || !ok {
			t.Fatalf("parked = %+v, want script %d alone", got, s.ID)
		}
		if p.Node != "n2" || p.Version != 1 || !p.ParkedUntil.Equal(at.Add(2*time.Minute).UTC().Truncate(time.Microsecond)) ||
			p.Reason != "crashed 6 times\u2400" {
			t.Errorf("parking = %+v, want the latest (n2, version 1)", p)
		}
		if one, err := db.ScriptParking(ctx, s.ID, time.Now()); err != nil || one == nil || one.Node != "n2" {
			t.Errorf("ScriptParking = %+v, %v", one, err)
		}
		if one, err := db.ScriptParking(ctx, other.ID, time.Now()); err != nil || one != nil {
			t.Errorf("ScriptParking of a parking that is over = %+v, %v", one, err)
		}

		n := int64(2)
		unparks := []struct {
			name   string
			change func() error
		}{
			{"new version", func() error { _, _, err := db.UpdateScript(ctx, s.ID, helloSource+"\n"); return err }},
			{"rollback", func() error { _, err := db.RollbackScript(ctx, s.ID, 1); return err }},
			{"script settings", func() error {
				_, err := db.UpdateScriptSettings(ctx, s.ID, models.ScriptSettings{MaxConcurrency: &n})
				return err
			}},
			{"app settings", func() error {
				_, err := db.UpdateApp(ctx, app.ID, models.AppChange{Settings: &models.AppSettings{MaxConcurrency: &n}})
				return err
			}},
			{"delete script", func() error { return db.DeleteScript(ctx, s.ID) }},
		}
		for _, u := range unparks {
			s, _ = db.Script(ctx, s.ID)
			if s != nil {
				park(s, "n1", time.Now().Add(time.Minute))
			}
			if err := u.change(); err != nil {
				t.Fatalf("%s: %v", u.name, err)
			}
			if got := parked(); len(got) != 0 {
				t.Errorf("%s: still parked: %+v", u.name, got)
			}
		}
		err := db.ParkScript(ctx, models.ParkedScript{ScriptID: s.ID, AppID: app.ID, Version: 1, ParkedUntil: time.Now().Add(time.Minute), Node: "n1"})
		if !errors.Is(err, models.ErrNotFound) {
			t.Errorf("parking a deleted script: %v, want ErrNotFound", err)
		}
	})
}
