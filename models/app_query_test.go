package models_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestApps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)

		apps, err := db.ListApps(ctx)
		if err != nil || len(apps) != 0 {
			t.Fatalf("ListApps on a fresh DB = %v, %v; want none", apps, err)
		}
		blog := newApp(t, db, "blog")
		shop := newApp(t, db, "shop")
		if blog.ID == 0 || shop.ID == 0 || blog.ID == shop.ID {
			t.Fatalf("ids not assigned: blog %d, shop %d", blog.ID, shop.ID)
		}
		if blog.CreatedAt.IsZero() || !blog.UpdatedAt.Equal(blog.CreatedAt) {
			t.Errorf("timestamps not set: %+v", blog)
		}

		lookups := []struct {
			name    string
			ref     string
			want    *models.App
			wantErr error
		}{
			{"by id", strconv.FormatInt(shop.ID, 10), shop, nil},
			{"by slug", "blog", blog, nil},
			{"missing slug", "nope", nil, models.ErrNotFound},
			{"missing id", "999999", nil, models.ErrNotFound},
			{"empty", "", nil, models.ErrNotFound},
		}
		for _, tt := range lookups {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.App(ctx, tt.ref)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("App(%q) error = %v, want %v", tt.ref, err, tt.wantErr)
				}
				if tt.want != nil && *got != *tt.want {
					t.Errorf("App(%q) = %+v, want %+v", tt.ref, got, tt.want)
				}
			})
		}

		apps, err = db.ListApps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 2 || apps[0].Slug != "blog" || apps[1].Slug != "shop" {
			t.Errorf("ListApps = %+v, want blog then shop", apps)
		}
	})
}

func TestCreateAppDuplicateSlug(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		newApp(t, db, "taken")
		err := db.CreateApp(context.Background(), &models.App{Slug: "taken", Name: "Again"})
		if !errors.Is(err, models.ErrConflict) {
			t.Fatalf("CreateApp with a taken slug = %v, want ErrConflict", err)
		}
		if want := `conflict: app slug "taken" is taken`; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
	})
}
