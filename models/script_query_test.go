package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestCreateScript(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		other := newApp(t, db, "b")

		script, version, err := db.CreateScript(ctx, app.ID, "hello", helloSource)
		if err != nil {
			t.Fatal(err)
		}
		if script.ID == 0 || script.AppID != app.ID || script.Name != "hello" || script.LiveVersion != 1 {
			t.Errorf("script = %+v", script)
		}
		want := models.ScriptVersion{
			ID: version.ID, ScriptID: script.ID, Version: 1, Source: helloSource,
			Hash: models.SourceHash(helloSource), CreatedAt: script.CreatedAt,
		}
		if *version != want {
			t.Errorf("version = %+v, want %+v", version, want)
		}
		if len(version.Hash) != 64 {
			t.Errorf("hash %q is not hex SHA-256", version.Hash)
		}
		got, err := db.Script(ctx, script.ID)
		if err != nil || *got != *script {
			t.Errorf("Script(%d) = %+v, %v; want %+v", script.ID, got, err, script)
		}

		creates := []struct {
			name    string
			appID   int64
			script  string
			wantErr error
		}{
			{"same name in the app", app.ID, "hello", models.ErrConflict},
			{"same name in another app", other.ID, "hello", nil},
			{"missing app", 999999, "x", models.ErrNotFound},
		}
		for _, tt := range creates {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := db.CreateScript(ctx, tt.appID, tt.script, helloSource)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("CreateScript(%d, %q) = %v, want %v", tt.appID, tt.script, err, tt.wantErr)
				}
			})
		}

		newScript(t, db, app.ID, "alpha")
		list, err := db.ListScripts(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if names := scriptNames(list); !slices.Equal(names, []string{"alpha", "hello"}) {
			t.Errorf("ListScripts = %v, want [alpha hello]", names)
		}
		if _, err := db.Script(ctx, 999999); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Script(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestScriptVersionsAndRollback(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		script := newScript(t, db, app.ID, "s")

		for n := int64(2); n <= 4; n++ {
			src := fmt.Sprintf("%s// v%d\n", helloSource, n)
			updated, version, err := db.UpdateScript(ctx, script.ID, src)
			if err != nil {
				t.Fatal(err)
			}
			if updated.LiveVersion != n || version.Version != n || version.Source != src || version.Hash != models.SourceHash(src) {
				t.Fatalf("update %d: script %+v, version %+v", n, updated, version)
			}
		}
		if _, _, err := db.UpdateScript(ctx, 999999, helloSource); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UpdateScript(missing) = %v, want ErrNotFound", err)
		}

		versions, err := db.ScriptVersions(ctx, script.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := versionNumbers(versions); !slices.Equal(got, []int64{4, 3, 2, 1}) {
			t.Errorf("ScriptVersions = %v, want newest first [4 3 2 1]", got)
		}

		rollbacks := []struct {
			name     string
			scriptID int64
			version  int64
			wantErr  error
			wantLive int64
		}{
			{"to version 2", script.ID, 2, nil, 2},
			{"to version 1", script.ID, 1, nil, 1},
			{"forward to 4", script.ID, 4, nil, 4},
			{"missing version", script.ID, 9, models.ErrNotFound, 4},
			{"version 0", script.ID, 0, models.ErrNotFound, 4},
			{"missing script", 999999, 1, models.ErrNotFound, 4},
		}
		for _, tt := range rollbacks {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.RollbackScript(ctx, tt.scriptID, tt.version)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("RollbackScript(%d, %d) = %v, want %v", tt.scriptID, tt.version, err, tt.wantErr)
				}
				if err == nil && got.LiveVersion != tt.wantLive {
					t.Errorf("returned live version %d, want %d", got.LiveVersion, tt.wantLive)
				}
				stored, err := db.Script(ctx, script.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stored.LiveVersion != tt.wantLive {
					t.Errorf("stored live version %d, want %d", stored.LiveVersion, tt.wantLive)
				}
			})
		}

		// An update after a rollback continues the numbering.
		if _, err := db.RollbackScript(ctx, script.ID, 1); err != nil {
			t.Fatal(err)
		}
		_, v5, err := db.UpdateScript(ctx, script.ID, helloSource+"// v5\n")
		if err != nil || v5.Version != 5 {
			t.Fatalf("update after rollback = %+v, %v; want version 5", v5, err)
		}

		v2, err := db.ScriptVersion(ctx, script.ID, 2)
		if err != nil || v2.Version != 2 || v2.Source != helloSource+"// v2\n" {
			t.Errorf("ScriptVersion(2) = %+v, %v", v2, err)
		}
		if _, err := db.ScriptVersion(ctx, script.ID, 42); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ScriptVersion(42) = %v, want ErrNotFound", err)
		}
	})
}

func TestDeleteScriptCascades(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		doomed := newScript(t, db, app.ID, "doomed")
		kept := newScript(t, db, app.ID, "kept")
		if _, _, err := db.UpdateScript(ctx, doomed.ID, helloSource+"// v2\n"); err != nil {
			t.Fatal(err)
		}
		doomedRoute := newRoute(t, db, doomed, "GET", "/doomed")
		keptRoute := newRoute(t, db, kept, "GET", "/kept")

		if err := db.DeleteScript(ctx, doomed.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteScript(ctx, doomed.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second DeleteScript = %v, want ErrNotFound", err)
		}
		if _, err := db.Script(ctx, doomed.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Script(deleted) = %v, want ErrNotFound", err)
		}
		if versions, err := db.ScriptVersions(ctx, doomed.ID); err != nil || len(versions) != 0 {
			t.Errorf("versions of deleted script = %+v, %v; want none", versions, err)
		}
		if _, err := db.Route(ctx, doomedRoute.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("route of deleted script = %v, want ErrNotFound", err)
		}
		if _, err := db.Route(ctx, keptRoute.ID); err != nil {
			t.Errorf("route of the other script: %v", err)
		}
		if versions, err := db.ScriptVersions(ctx, kept.ID); err != nil || len(versions) != 1 {
			t.Errorf("versions of the other script = %+v, %v; want 1", versions, err)
		}
	})
}

func TestConcurrentUpdatesGetDistinctVersions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		script := newScript(t, db, newApp(t, db, "a").ID, "s")

		const writers, each = 6, 5
		var wg sync.WaitGroup
		got := make(chan int64, writers*each)
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, v, err := db.UpdateScript(ctx, script.ID, fmt.Sprintf("%s// w%d i%d\n", helloSource, w, i))
					if err != nil {
						errs <- err
						continue
					}
					got <- v.Version
				}
			})
		}
		wg.Wait()
		close(got)
		close(errs)
		for err := range errs {
			t.Errorf("UpdateScript: %v", err)
		}
		var numbers []int64
		for v := range got {
			numbers = append(numbers, v)
		}
		slices.Sort(numbers)
		for i, n := range numbers {
			if want := int64(i + 2); n != want {
				t.Fatalf("versions handed out = %v, want 2..%d each once", numbers, writers*each+1)
			}
		}
		stored, err := db.Script(ctx, script.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(writers*each + 1); stored.LiveVersion != want {
			t.Errorf("live version = %d, want the last one, %d", stored.LiveVersion, want)
		}
	})
}

func TestLiveScripts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		other := newApp(t, db, "b")
		newScript(t, db, other.ID, "elsewhere")

		if live, err := db.LiveScripts(ctx, app.ID); err != nil || len(live) != 0 {
			t.Fatalf("LiveScripts of an empty app = %+v, %v", live, err)
		}
		updated := newScript(t, db, app.ID, "updated")
		if _, _, err := db.UpdateScript(ctx, updated.ID, "v2"); err != nil {
			t.Fatal(err)
		}
		rolled := newScript(t, db, app.ID, "rolled")
		if _, _, err := db.UpdateScript(ctx, rolled.ID, "v2"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RollbackScript(ctx, rolled.ID, 1); err != nil {
			t.Fatal(err)
		}
		plain := newScript(t, db, app.ID, "plain")

		live, err := db.LiveScripts(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			name    string
			id      int64
			version int64
			source  string
		}{
			{"plain", plain.ID, 1, helloSource},
			{"rolled", rolled.ID, 1, helloSource},
			{"updated", updated.ID, 2, "v2"},
		}
		if len(live) != len(want) {
			t.Fatalf("LiveScripts = %+v, want %d scripts", live, len(want))
		}
		for i, w := range want {
			l := live[i]
			if l.Name != w.name || l.ID != w.id || l.AppID != app.ID || l.LiveVersion != w.version ||
				l.Version.ScriptID != w.id || l.Version.Version != w.version ||
				l.Version.Source != w.source || l.Version.Hash != models.SourceHash(w.source) || l.Version.ID == 0 {
				t.Errorf("live[%d] = %+v, want %s at version %d", i, l, w.name, w.version)
			}
		}
		stored, err := db.ScriptVersion(ctx, updated.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if live[2].Version != *stored {
			t.Errorf("live version row = %+v, want %+v", live[2].Version, *stored)
		}
	})
}

func scriptNames(scripts []models.Script) []string {
	names := make([]string, len(scripts))
	for i, s := range scripts {
		names[i] = s.Name
	}
	return names
}

func versionNumbers(versions []models.ScriptVersion) []int64 {
	numbers := make([]int64, len(versions))
	for i, v := range versions {
		numbers[i] = v.Version
	}
	return numbers
}

func TestUpdateScriptSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		script, _, err := db.CreateScript(ctx, app.ID, "hello", helloSource)
		if err != nil {
			t.Fatal(err)
		}
		timeout, output := int64(250), int64(1024)
		got, err := db.UpdateScriptSettings(ctx, script.ID, models.ScriptSettings{TimeoutMS: &timeout, MaxOutput: &output})
		if err != nil {
			t.Fatal(err)
		}
		if s := got.Settings; s.TimeoutMS == nil || *s.TimeoutMS != 250 || s.MaxOutput == nil || *s.MaxOutput != 1024 ||
			s.MaxConcurrency != nil || s.MaxResponseBody != nil || got.LiveVersion != 1 {
			t.Errorf("after update: %+v", got)
		}
		live, err := db.LiveScripts(ctx, app.ID)
		if err != nil || len(live) != 1 || live[0].Settings.TimeoutMS == nil || *live[0].Settings.TimeoutMS != 250 {
			t.Errorf("LiveScripts = %+v, %v", live, err)
		}
		got, err = db.UpdateScriptSettings(ctx, script.ID, models.ScriptSettings{})
		if err != nil || got.Settings != (models.ScriptSettings{}) {
			t.Errorf("cleared: %+v, %v", got, err)
		}
		if _, err := db.UpdateScriptSettings(ctx, script.ID+100, models.ScriptSettings{}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown script: %v", err)
		}
	})
}
