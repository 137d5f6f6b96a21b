package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func newDomain(t *testing.T, db *models.DB, app *models.App, pattern, key string) *models.Domain {
	t.Helper()
	d := &models.Domain{AppID: app.ID, Pattern: pattern, Key: key, Kind: "exact"}
	if err := db.CreateDomain(context.Background(), d); err != nil {
		t.Fatalf("claim %s for %s: %v", pattern, app.Slug, err)
	}
	return d
}

func TestDomains(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		shop, blog := newApp(t, db, "shop"), newApp(t, db, "blog")
		api := newDomain(t, db, shop, "api.example.com", "api.example.com")
		tenant := newDomain(t, db, shop, "{t}.example.com", "{}.example.com")
		newDomain(t, db, blog, "blog.example.com", "blog.example.com")

		conflicts := []struct {
			name    string
			app     *models.App
			pattern string
			key     string
			want    string
		}{
			{"other app same", blog, "api.example.com", "api.example.com", `domain api.example.com is claimed by app "shop"`},
			{"other app renamed param", blog, "{x}.example.com", "{}.example.com", `collides with {t}.example.com, claimed by app "shop"`},
			{"same app again", shop, "api.example.com", "api.example.com", "this app already claims api.example.com"},
			{"same app renamed param", shop, "{x}.example.com", "{}.example.com", "this app's claim {t}.example.com"},
		}
		for _, tt := range conflicts {
			err := db.CreateDomain(ctx, &models.Domain{AppID: tt.app.ID, Pattern: tt.pattern, Key: tt.key, Kind: "x"})
			if !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: CreateDomain = %v, want a conflict saying %q", tt.name, err, tt.want)
			}
		}
		if err := db.CreateDomain(ctx, &models.Domain{AppID: 99999, Pattern: "x.test", Key: "x.test", Kind: "exact"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("claim for a missing app = %v, want ErrNotFound", err)
		}

		got, err := db.AppDomains(ctx, shop.ID)
		if err != nil || len(got) != 2 || got[0].Pattern != "api.example.com" || got[1].ID != tenant.ID {
			t.Fatalf("AppDomains(shop) = %+v, %v", got, err)
		}
		if _, err := db.DeleteDomain(ctx, blog.ID, api.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleting shop's claim as blog = %v, want ErrNotFound", err)
		}
		if all, _ := db.AllDomains(ctx); len(all) != 3 {
			t.Fatalf("after a refused delete there are %d claims, want 3", len(all))
		}
		if d, err := db.DeleteDomain(ctx, shop.ID, api.ID); err != nil || d.Pattern != "api.example.com" {
			t.Fatalf("DeleteDomain = %+v, %v", d, err)
		}
		// Released: another app may claim it now.
		newDomain(t, db, blog, "api.example.com", "api.example.com")
	})
}

func TestUpdateAppSlugRedirects(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		shop := newApp(t, db, "shop")
		newApp(t, db, "blog")
		slug := func(s string) *string { return &s }
		redirects := func() map[string]int64 {
			t.Helper()
			rs, err := db.SlugRedirects(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, r := range rs {
				out[r.OldSlug] = r.AppID
			}
			return out
		}

		app, err := db.UpdateApp(ctx, shop.ID, models.AppChange{Slug: slug("store")})
		if err != nil || app.Slug != "store" || app.Name != shop.Name {
			t.Fatalf("rename = %+v, %v", app, err)
		}
		if r := redirects(); len(r) != 1 || r["shop"] != shop.ID {
			t.Fatalf("redirects after rename = %v, want shop -> %d", r, shop.ID)
		}
		if _, err := db.UpdateApp(ctx, shop.ID, models.AppChange{Slug: slug("market")}); err != nil {
			t.Fatal(err)
		}
		if r := redirects(); len(r) != 2 || r["shop"] != shop.ID || r["store"] != shop.ID {
			t.Fatalf("redirects after a second rename = %v", r)
		}
		if _, err := db.UpdateApp(ctx, shop.ID, models.AppChange{Slug: slug("blog")}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("rename to a taken slug = %v, want ErrConflict", err)
		}
		if r := redirects(); len(r) != 2 {
			t.Fatalf("a refused rename changed the redirects: %v", r)
		}
		// Another app takes "shop": its redirect is gone.
		newApp(t, db, "shop")
		if r := redirects(); len(r) != 1 || r["store"] != shop.ID {
			t.Fatalf("redirects after another app took shop = %v", r)
		}
		// The app takes back "store": no redirect to itself remains.
		if _, err := db.UpdateApp(ctx, shop.ID, models.AppChange{Slug: slug("store")}); err != nil {
			t.Fatal(err)
		}
		if r := redirects(); len(r) != 1 || r["market"] != shop.ID {
			t.Fatalf("redirects after taking back store = %v", r)
		}
		if _, err := db.UpdateApp(ctx, 99999, models.AppChange{Slug: slug("x")}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("update of a missing app = %v", err)
		}
	})
}

func TestUpdateAppSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "shop")
		timeout, body := int64(1500), int64(4096)
		name := "Shop 2"
		_, err := db.UpdateApp(ctx, app.ID, models.AppChange{Name: &name,
			Settings: &models.AppSettings{TimeoutMS: &timeout, MaxRequestBody: &body}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.App(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		s := got.Settings
		if got.Name != name || s.TimeoutMS == nil || *s.TimeoutMS != 1500 || s.MaxRequestBody == nil || *s.MaxRequestBody != 4096 ||
			s.MaxConcurrency != nil || s.MaxResponseBody != nil {
			t.Fatalf("after update: %+v settings %+v", got, s)
		}
		if !got.UpdatedAt.After(got.CreatedAt) && !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("updated_at %v before created_at %v", got.UpdatedAt, got.CreatedAt)
		}
	})
}

func TestDeleteAppCascades(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		shop, blog := newApp(t, db, "shop"), newApp(t, db, "blog")
		for _, app := range []*models.App{shop, blog} {
			s := newScript(t, db, app.ID, "main")
			newRoute(t, db, s, "GET", "/")
			newDomain(t, db, app, app.Slug+".example.com", app.Slug+".example.com")
		}
		old := "shopping"
		if _, err := db.UpdateApp(ctx, shop.ID, models.AppChange{Slug: &old}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.DeleteApp(ctx, shop.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"scripts", "routes", "domains", "slug_redirects"} {
			n, err := db.Bun().NewSelect().Table(table).Where("app_id = ?", shop.ID).Count(ctx)
			if err != nil || n != 0 {
				t.Errorf("%s of the deleted app: %d rows, %v", table, n, err)
			}
			n, err = db.Bun().NewSelect().Table(table).Where("app_id = ?", blog.ID).Count(ctx)
			if table != "slug_redirects" && (err != nil || n != 1) {
				t.Errorf("%s of the other app: %d rows, %v; want 1", table, n, err)
			}
		}
		if n, _ := db.Bun().NewSelect().Table("script_versions").Count(ctx); n != 1 {
			t.Errorf("%d script versions left, want blog's 1", n)
		}
		if _, err := db.DeleteApp(ctx, shop.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second delete = %v, want ErrNotFound", err)
		}
	})
}
