package admin_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

func TestDomains(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		for _, slug := range []string{"shop", "blog"} {
			s.run(t, scenario{name: "app " + slug, method: "POST", url: "/apps", body: map[string]string{"slug": slug}, status: 201})
		}
		claim := func(app, pattern string) scenario {
			return scenario{method: "POST", url: "/apps/" + app + "/domains", body: map[string]string{"pattern": pattern}}
		}
		with := func(sc scenario, name string, status int, want ...string) scenario {
			sc.name, sc.status, sc.want = name, status, want
			return sc
		}
		apiID := s.create(t, with(claim("shop", "API.Example.com."), "exact, normalized", 201, `"pattern":"api.example.com"`, `"kind":"exact"`, `"overlaps":[]`))
		s.create(t, with(claim("shop", "{tenant}.example.com"), "param", 201, `"kind":"param"`, `"serves":"other"`))
		blogWild := s.create(t, with(claim("blog", "*.example.com"), "wildcard", 201, `"kind":"wildcard"`, `"serves":"other"`, `"pattern":"api.example.com"`))
		s.create(t, with(claim("blog", "bücher.example"), "IDN", 201, `"pattern":"xn--bcher-kva.example"`))

		s.runAll(t, []scenario{
			with(claim("blog", "api.example.com"), "exact taken", 409, `"code":"conflict"`, `claimed by app \"shop\"`),
			with(claim("blog", "{t}.EXAMPLE.com"), "param renamed", 409, `{tenant}.example.com`, `app \"shop\"`),
			with(claim("shop", "*.example.com"), "wildcard taken", 409, `app \"blog\"`),
			with(claim("shop", "api.example.com"), "own claim again", 409, "this app already claims"),
			with(claim("blog", "xn--bcher-kva.example"), "IDN again in punycode", 409, "this app already claims"),
			with(claim("shop", "api.example.com:8080"), "port", 400, `"field":"pattern"`, "no port"),
			with(claim("shop", "https://api.example.com"), "scheme", 400, "scheme"),
			with(claim("shop", "api.example.com/x"), "path", 400, "path"),
			with(claim("shop", "me@api.example.com"), "userinfo", 400, "user info"),
			with(claim("shop", "{}.example.com"), "empty param", 400, "has no name"),
			with(claim("shop", "x{a}.example.com"), "param inside a label", 400, "whole label"),
			with(claim("shop", "a..example.com"), "empty label", 400, "empty"),
			with(claim("shop", strings.Repeat("a", 300)+".com"), "300 chars", 400, `"field":"pattern"`),
			with(claim("shop", "*"), "lone wildcard", 400, "every host"),
			with(claim("shop", ""), "empty", 400, "empty"),
			with(claim("shop", "10.0.0.1"), "IP", 400, "IP address"),
			with(claim("shop", "blog.localhost"), "another app's implicit host", 409, `app \"blog\"`),
			with(claim("shop", "shop.localhost"), "its own implicit host", 400, "reserved"),
			with(claim("shop", "*.localhost"), "wildcard over the base domain", 400, "reserved"),
			with(claim("shop", "{x}.localhost"), "param over the base domain", 400, "reserved"),
			with(claim("nope", "x.example.org"), "missing app", 404),
			{name: "malformed", method: "POST", url: "/apps/shop/domains", body: `{"pattern":`, status: 400, want: []string{"invalid_json"}},
			{name: "unknown field", method: "POST", url: "/apps/shop/domains", body: `{"pattern":"a.test","port":1}`, status: 400},
			{name: "list shop", method: "GET", url: "/apps/shop/domains", status: 200, want: []string{"api.example.com", "{tenant}.example.com"}, notWant: []string{"*.example.com"}},
			{name: "list blog", method: "GET", url: "/apps/blog/domains", status: 200, want: []string{"*.example.com"}, notWant: []string{"api.example.com"}},
			// Hostile: shop's claim through blog's URL.
			{name: "other app's claim", method: "DELETE", url: fmt.Sprintf("/apps/blog/domains/%d", apiID), status: 404},
			{name: "still there", method: "GET", url: "/apps/shop/domains", status: 200, want: []string{"api.example.com"}},
			{name: "bad id", method: "DELETE", url: "/apps/shop/domains/x", status: 400, want: []string{`"field":"id"`}},
			{name: "missing id", method: "DELETE", url: "/apps/shop/domains/99999", status: 404},
			{name: "delete", method: "DELETE", url: fmt.Sprintf("/apps/shop/domains/%d", apiID), status: 204},
			with(claim("blog", "api.example.com"), "released claim taken by another app", 201, `"serves":"this"`),
			{name: "delete wildcard", method: "DELETE", url: fmt.Sprintf("/apps/blog/domains/%d", blogWild), status: 204},
			// Deleting an app releases its claims.
			{name: "delete shop", method: "DELETE", url: "/apps/shop", status: 204},
			with(claim("blog", "{t}.example.com"), "shop's param claim released", 201),
		})
	})
}
