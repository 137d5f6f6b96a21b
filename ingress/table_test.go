package ingress_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/picloud/picloud/domain"
	"github.com/picloud/picloud/ingress"
)

// hostTable is a Table with the claims of a few apps on base domain
// "localhost" and default app "hello".
func hostTable(t testing.TB) *ingress.Table {
	t.Helper()
	apps := []ingress.App{{ID: 1, Slug: "hello"}, {ID: 2, Slug: "shop"}, {ID: 3, Slug: "blog"}, {ID: 4, Slug: "saas"}}
	claims := []ingress.Claim{
		{Pattern: domain.MustParse("api.example.com"), AppID: 2},
		{Pattern: domain.MustParse("{tenant}.example.com"), AppID: 4},
		{Pattern: domain.MustParse("*.example.com"), AppID: 3},
		{Pattern: domain.MustParse("xn--bcher-kva.example"), AppID: 3},
	}
	tbl, err := ingress.Build(ingress.TableSpec{
		Apps: apps, Claims: claims, BaseDomain: "localhost", DefaultApp: "hello",
		Redirects: map[string]int64{"store": 2, "gone": 99},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func TestResolve(t *testing.T) {
	tbl := hostTable(t)
	tests := []struct {
		host     string
		app      string
		params   map[string]string
		redirect string
	}{
		{"api.example.com", "shop", nil, ""},
		{"API.Example.com:8080", "shop", nil, ""},
		{"api.example.com.", "shop", nil, ""},
		{"acme.example.com", "saas", map[string]string{"tenant": "acme"}, ""},
		{"ACME.example.com", "saas", map[string]string{"tenant": "acme"}, ""},
		{"a.b.example.com", "blog", nil, ""},
		{"xn--bcher-kva.example", "blog", nil, ""},
		{"shop.localhost:8080", "shop", nil, ""},
		{"Blog.LOCALHOST", "blog", nil, ""},
		{"store.localhost:8080", "shop", nil, "shop.localhost"},
		// Hosts nobody claims go to the default app.
		{"localhost:8080", "hello", nil, ""},
		{"127.0.0.1:8080", "hello", nil, ""},
		{"[::1]:8080", "hello", nil, ""},
		{"example.com", "hello", nil, ""},
		{"nope.localhost", "hello", nil, ""},
		{"gone.localhost", "hello", nil, ""},
		{"a.shop.localhost", "hello", nil, ""},
		{"", "hello", nil, ""},
		{"a..example.com", "hello", nil, ""},
		{".example.com", "hello", nil, ""},
		{"evil.com/api.example.com", "hello", nil, ""},
		{"api.example.com:80:80", "hello", nil, ""},
		{"user@api.example.com", "hello", nil, ""},
		{"bücher.example", "hello", nil, ""},
		{strings.Repeat("a", 300) + ".example.com", "hello", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := tbl.Resolve([]byte(tt.host))
			if r.App == nil || r.App.Slug != tt.app || !maps.Equal(r.DomainParams, tt.params) || r.Redirect != tt.redirect {
				t.Fatalf("Resolve(%q) = %+v; want app %s params %v redirect %q", tt.host, r, tt.app, tt.params, tt.redirect)
			}
		})
	}
}

func TestResolveWithoutDefaultOrBase(t *testing.T) {
	tbl, err := ingress.Build(ingress.TableSpec{Apps: []ingress.App{{ID: 1, Slug: "shop"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"shop.localhost", "localhost", "x"} {
		if r := tbl.Resolve([]byte(host)); r.App != nil {
			t.Errorf("Resolve(%q) = %+v, want no app", host, r)
		}
	}
}

func TestDefaultAppFollowsRename(t *testing.T) {
	tbl, err := ingress.Build(ingress.TableSpec{
		Apps:       []ingress.App{{ID: 1, Slug: "hi"}},
		Redirects:  map[string]int64{"hello": 1},
		DefaultApp: "hello",
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := tbl.Resolve([]byte("localhost")); r.App == nil || r.App.Slug != "hi" {
		t.Fatalf("Resolve = %+v, want the renamed default app", r)
	}
}

func TestBuildReportsBadClaims(t *testing.T) {
	tbl, err := ingress.Build(ingress.TableSpec{
		Apps: []ingress.App{{ID: 1, Slug: "a"}, {ID: 2, Slug: "b"}},
		Claims: []ingress.Claim{
			{Pattern: domain.MustParse("{x}.example.com"), AppID: 1},
			{Pattern: domain.MustParse("{y}.example.com"), AppID: 2},
			{Pattern: domain.MustParse("c.example.com"), AppID: 3},
		},
	})
	if err == nil || !strings.Contains(err.Error(), "collides") || !strings.Contains(err.Error(), "no app 3") {
		t.Fatalf("Build error = %v, want the collision and the missing app", err)
	}
	// The first claim stands; the colliding one is left out.
	if r := tbl.Resolve([]byte("q.example.com")); r.App == nil || r.App.Slug != "a" {
		t.Fatalf("Resolve = %+v, want app a", r)
	}
}

func TestResolveAllocations(t *testing.T) {
	tbl := hostTable(t)
	for _, host := range []string{"api.example.com", "a.b.example.com", "shop.localhost:8080", "store.localhost", "127.0.0.1:8080"} {
		h := []byte(host)
		if n := testing.AllocsPerRun(100, func() { tbl.Resolve(h) }); n != 0 {
			t.Errorf("Resolve(%q) allocates %.0f times, want 0", host, n)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	tbl := hostTable(b)
	// Many claims, as a busy install would have.
	apps := []ingress.App{{ID: 1, Slug: "hello"}}
	var claims []ingress.Claim
	for i := range 1000 {
		apps = append(apps, ingress.App{ID: int64(i + 2), Slug: fmt.Sprintf("app%d", i)})
		claims = append(claims,
			ingress.Claim{Pattern: domain.MustParse(fmt.Sprintf("www.site%d.com", i)), AppID: int64(i + 2)},
			ingress.Claim{Pattern: domain.MustParse(fmt.Sprintf("{t}.site%d.com", i)), AppID: int64(i + 2)},
			ingress.Claim{Pattern: domain.MustParse(fmt.Sprintf("*.site%d.com", i)), AppID: int64(i + 2)})
	}
	big, err := ingress.Build(ingress.TableSpec{Apps: apps, Claims: claims, BaseDomain: "localhost", DefaultApp: "hello"})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		tbl  *ingress.Table
		host string
	}{
		{"exact", tbl, "api.example.com"},
		{"exact-port", tbl, "api.example.com:8080"},
		{"param", tbl, "acme.example.com"},
		{"wildcard", tbl, "a.b.example.com"},
		{"slug", tbl, "shop.localhost:8080"},
		{"default", tbl, "127.0.0.1:8080"},
		{"big-exact", big, "www.site500.com"},
		{"big-param", big, "acme.site500.com"},
		{"big-wildcard", big, "a.b.site500.com"},
		{"big-slug", big, "app500.localhost"},
	}
	for _, c := range cases {
		h := []byte(c.host)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.tbl.Resolve(h)
			}
		})
	}
}
