package models_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestHealth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db, err := models.Open(ctx, tg.URL, tg.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		pending, err := db.PendingMigrations(ctx)
		if err != nil || len(pending) != 0 {
			t.Fatalf("PendingMigrations after Migrate = %v, %v", pending, err)
		}
		// Forget the last migration: it is pending again.
		if _, err := db.Bun().NewDelete().Table("bun_migrations").Where("name = ?", "0006").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		pending, err = db.PendingMigrations(ctx)
		if err != nil || len(pending) != 1 || pending[0] != "0006 api tokens" {
			t.Fatalf("PendingMigrations with 0006 unrecorded = %v, %v", pending, err)
		}
		db.Close()
		if err := db.Ping(ctx); err == nil {
			t.Error("Ping of a closed database succeeded")
		}
	})
}
