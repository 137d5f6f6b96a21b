package models_test

import (
	"context"
	"sync"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestSeed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		for i := range 3 {
			if err := db.Seed(ctx, helloSource); err != nil {
				t.Fatalf("seed %d: %v", i+1, err)
			}
		}
		apps, err := db.ListApps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 1 || apps[0].Slug != "hello" || apps[0].Name != "Hello World" {
			t.Fatalf("apps after seeding = %+v, want only hello", apps)
		}
		live, err := db.LiveScripts(ctx, apps[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 1 || live[0].Name != "hello" || live[0].Version.Source != helloSource {
			t.Fatalf("seeded scripts = %+v", live)
		}
		routes, err := db.AppRoutes(ctx, apps[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(routes) != 1 || routes[0].Method != "GET" || routes[0].Path != "/" || routes[0].ScriptID != live[0].ID {
			t.Errorf("seeded routes = %+v", routes)
		}
	})
}

func TestSeedLeavesExistingInstallAlone(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		newApp(t, db, "mine")
		if err := db.Seed(ctx, helloSource); err != nil {
			t.Fatal(err)
		}
		if _, err := db.App(ctx, "hello"); err == nil {
			t.Error("Seed created the hello app although an app existed")
		}
	})
}

func TestSeedConcurrently(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			// Separate handles, as separate nodes would have.
			node, err := models.Open(ctx, tg.URL, tg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer node.Close()
			wg.Go(func() { errs[i] = node.Seed(ctx, helloSource) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("node %d: %v", i, err)
			}
		}
		if apps, err := db.ListApps(ctx); err != nil || len(apps) != 1 {
			t.Errorf("apps after concurrent seeding = %+v, %v; want one", apps, err)
		}
	})
}
