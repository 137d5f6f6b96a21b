package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// whoami answers with the app, host and domain parameters it sees.
const whoami = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(200, map[string]any{"app": req.App, "params": req.DomainParams, "path": req.Path})
}
`

// busy runs for a second before it answers.
const busy = `package main

import (
	"time"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	start := time.Now()
	for time.Since(start) < time.Second {
	}
	return picloud.Text(200, "done")
}
`

// newApp creates an app with the whoami script bound to GET /.
func (s *server) newApp(t *testing.T, slug string) int64 {
	t.Helper()
	expect(t, "create app "+slug, s.do("POST", adminAPI+"/apps", map[string]string{"slug": slug}), 201)
	r := s.do("POST", adminAPI+"/apps/"+slug+"/scripts", map[string]string{"name": "whoami", "source": whoami})
	expect(t, "create script of "+slug, r, 201)
	id := int64(r.json(t)["id"].(float64))
	r = s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id), map[string]string{"method": "GET", "path": "/"})
	expect(t, "bind / of "+slug, r, 201)
	return id
}

// noRedirect sends a GET for host without following redirects.
func (s *server) noRedirect(t *testing.T, host, path string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestApps walks apps and domains against the real binary: isolation by
// host, claim precedence and collisions, domain parameters, the implicit
// {slug}.localhost, slug redirects, cascading deletes and the route tools.
func TestApps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		// Public errors on: the test reads the limit that applied from the
		// answer (callers see only the code by default; TestErrorPrivacy).
		env := []string{"PICLOUD_DATA_DIR=" + tg.DataDir, "PICLOUD_DATABASE_URL=" + tg.URL, "PICLOUD_PUBLIC_ERRORS=true"}
		s := startWithAdmin(t, env...)
		port := s.base[strings.LastIndex(s.base, ":"):]
		host := func(h string) []string { return []string{"Host", h} }
		claim := func(app, pattern string) response {
			return s.do("POST", adminAPI+"/apps/"+app+"/domains", map[string]string{"pattern": pattern})
		}

		s.newApp(t, "shop")
		s.newApp(t, "blog")
		wildScript := s.newApp(t, "wild")

		// Two apps, one route path, each on its own hosts.
		expect(t, "claim shop.test", claim("shop", "shop.test"), 201)
		expect(t, "claim blog.test", claim("blog", "BLOG.test."), 201, `"pattern":"blog.test"`)
		expect(t, "shop on its domain", s.do("GET", "/", nil, host("shop.test")...), 200, `"app":"shop"`)
		expect(t, "blog on its domain", s.do("GET", "/", nil, host("blog.test"+port)...), 200, `"app":"blog"`)
		expect(t, "implicit shop.localhost", s.do("GET", "/", nil, host("shop.localhost"+port)...), 200, `"app":"shop"`)
		expect(t, "implicit blog.localhost", s.do("GET", "/", nil, host("Blog.LocalHost")...), 200, `"app":"blog"`)
		expect(t, "default app", s.do("GET", "/", nil, host("unclaimed.test")...), 200, `{"hello":"world"}`)
		expect(t, "default app on localhost", s.do("GET", "/", nil, host("localhost"+port)...), 200, `{"hello":"world"}`)

		// Exact beats parameterized beats wildcard; params are captured.
		expect(t, "exact", claim("shop", "api.example.com"), 201)
		expect(t, "param", claim("blog", "{tenant}.example.com"), 201)
		expect(t, "wildcard", claim("wild", "*.example.com"), 201)
		expect(t, "exact wins", s.do("GET", "/", nil, host("api.example.com")...), 200, `"app":"shop"`, `"params":null`)
		expect(t, "param wins over wildcard", s.do("GET", "/", nil, host("Acme.example.com")...), 200, `"app":"blog"`, `"params":{"tenant":"acme"}`)
		expect(t, "wildcard for the rest", s.do("GET", "/", nil, host("a.b.example.com")...), 200, `"app":"wild"`)

		// Colliding claims are refused, naming the app that has them.
		expect(t, "param collision", claim("wild", "{other}.example.com"), 409, `app \"blog\"`)
		expect(t, "exact collision", claim("blog", "api.example.com"), 409, `app \"shop\"`)
		expect(t, "implicit host of another app", claim("blog", "shop.localhost"), 409, `app \"shop\"`)
		expect(t, "port in a domain", claim("blog", "x.example.org:80"), 400, `"field":"pattern"`)

		// A route of another app is never seen.
		expect(t, "blog has no /x", s.do("GET", "/x", nil, host("blog.test")...), 404, `"code":"not_found"`)

		// Route tools.
		r := s.do("POST", adminAPI+"/apps/shop/routes/check", map[string]string{"method": "GET", "path": "/"})
		expect(t, "check conflict", r, 200, `"ok":false`, `"conflicts":[{`)
		r = s.do("POST", adminAPI+"/apps/shop/routes/check", map[string]string{"method": "GET", "path": "/*all"})
		expect(t, "check shadowed", r, 200, `"ok":true`, `"shadowed_by":[{`)
		r = s.do("POST", adminAPI+"/apps/shop/routes/match", map[string]string{"method": "GET", "path": "/"})
		expect(t, "match", r, 200, `"name":"whoami"`, `"path":"/"`)
		r = s.do("POST", adminAPI+"/apps/shop/routes/match", map[string]string{"method": "GET", "path": "/nope"})
		expect(t, "match nothing", r, 404)

		// Rename: the old slug redirects, same path and query.
		expect(t, "rename shop", s.do("PATCH", adminAPI+"/apps/shop", map[string]string{"slug": "store"}), 200, `"slug":"store"`)
		r = s.noRedirect(t, "shop.localhost"+port, "/a/b?x=1&y=2")
		expect(t, "old slug redirects", r, 308)
		if loc, want := r.Header.Get("Location"), "http://store.localhost"+port+"/a/b?x=1&y=2"; loc != want {
			t.Fatalf("redirect to %q, want %q", loc, want)
		}
		expect(t, "new slug", s.do("GET", "/", nil, host("store.localhost")...), 200, `"app":"store"`)
		expect(t, "claims follow the app", s.do("GET", "/", nil, host("api.example.com")...), 200, `"app":"store"`)

		// Another app takes the old slug: the redirect is gone.
		s.newApp(t, "shop")
		r = s.noRedirect(t, "shop.localhost"+port, "/")
		expect(t, "old slug taken over", r, 200, `"app":"shop"`)
		if r.Header.Get("Location") != "" {
			t.Fatalf("redirect kept after the slug was taken: %s", r.Header.Get("Location"))
		}

		// Per-app limits.
		r = s.do("PATCH", adminAPI+"/apps/blog", map[string]any{"settings": map[string]any{"max_request_body": 8}})
		expect(t, "blog settings", r, 200, `"max_request_body":8`)
		expect(t, "over blog's body limit", s.do("POST", "/", "123456789", host("blog.test")...), 413, `"code":"body_too_large"`)
		r = s.do("POST", adminAPI+"/apps/blog/scripts", map[string]string{"name": "busy", "source": busy})
		expect(t, "busy script", r, 201)
		busyID := int64(r.json(t)["id"].(float64))
		expect(t, "bind busy", s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, busyID), map[string]string{"method": "GET", "path": "/busy"}), 201)
		expect(t, "busy within the default timeout", s.do("GET", "/busy", nil, host("blog.test")...), 200, "done")
		expect(t, "blog timeout", s.do("PATCH", adminAPI+"/apps/blog", map[string]any{"settings": map[string]any{"timeout_ms": 100}}), 200)
		expect(t, "over blog's own timeout", s.do("GET", "/busy", nil, host("blog.test")...), 504, `"code":"script_timeout"`, "100ms")

		// Delete cascades: scripts, routes and claims go; hosts fall back.
		expect(t, "delete wild", s.do("DELETE", adminAPI+"/apps/wild", nil), 204)
		expect(t, "wild's scripts", s.do("GET", adminAPI+"/apps/wild/scripts", nil), 404)
		expect(t, "wild's script", s.do("GET", fmt.Sprintf("%s/scripts/%d", adminAPI, wildScript), nil), 404)
		expect(t, "wild's host", s.do("GET", "/", nil, host("a.b.example.com")...), 200, `{"hello":"world"}`)
		expect(t, "wild's claim released", claim("blog", "*.example.com"), 201)

		// A second rename; its redirect must outlive a restart.
		expect(t, "rename again", s.do("PATCH", adminAPI+"/apps/store", map[string]string{"slug": "market"}), 200)

		// Everything survives a restart.
		s.stop()
		s = startWithAdmin(t, env...)
		port = s.base[strings.LastIndex(s.base, ":"):]
		expect(t, "claim after restart", s.do("GET", "/", nil, host("api.example.com")...), 200, `"app":"market"`)
		r = s.noRedirect(t, "store.localhost"+port, "/q")
		if loc, want := r.Header.Get("Location"), "http://market.localhost"+port+"/q"; r.Status != 308 || loc != want {
			t.Fatalf("redirect after restart: %d to %q, want 308 to %q", r.Status, loc, want)
		}
		expect(t, "param after restart", s.do("GET", "/", nil, host("zed.example.com")...), 200, `"params":{"tenant":"zed"}`)
		expect(t, "wildcard after restart", s.do("GET", "/", nil, host("a.b.example.com")...), 200, `"app":"blog"`)
		expect(t, "slug after restart", s.do("GET", "/", nil, host("shop.localhost")...), 200, `"app":"shop"`)
	})
}
