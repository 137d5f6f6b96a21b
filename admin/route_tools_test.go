package admin_test

import (
	"fmt"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

func TestRouteTools(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		for _, slug := range []string{"shop", "blog"} {
			s.run(t, scenario{name: "app " + slug, method: "POST", url: "/apps", body: map[string]string{"slug": slug}, status: 201})
		}
		shopScript := s.create(t, scenario{name: "shop script", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "users", "source": okSource}, status: 201})
		blogScript := s.create(t, scenario{name: "blog script", method: "POST", url: "/apps/blog/scripts", body: map[string]string{"name": "posts", "source": okSource}, status: 201})
		for _, p := range []string{"/users/:id", "/users/me", "/files/*rest"} {
			s.run(t, scenario{name: "route " + p, method: "POST", url: fmt.Sprintf("/scripts/%d/routes", shopScript), body: map[string]string{"method": "GET", "path": p}, status: 201})
		}
		s.run(t, scenario{name: "blog route", method: "POST", url: fmt.Sprintf("/scripts/%d/routes", blogScript), body: map[string]string{"method": "GET", "path": "/posts/:slug"}, status: 201})

		check := func(name, app, method, path string, status int, want []string, notWant ...string) scenario {
			return scenario{name: name, method: "POST", url: "/apps/" + app + "/routes/check",
				body: map[string]string{"method": method, "path": path}, status: status, want: want, notWant: notWant}
		}
		match := func(name, app, method, path string, status int, want []string, notWant ...string) scenario {
			return scenario{name: name, method: "POST", url: "/apps/" + app + "/routes/match",
				body: map[string]string{"method": method, "path": path}, status: status, want: want, notWant: notWant}
		}
		s.runAll(t, []scenario{
			check("conflict", "shop", "GET", "/users/:name", 200, []string{`"ok":false`, `"conflicts":[{`, `"path":"/users/:id"`, `"shadowed_by":[{`, `"path":"/users/me"`}),
			check("shadows", "shop", "get", "/users/you", 200, []string{`"ok":true`, `"method":"GET"`, `"conflicts":[]`, `"shadows":[{`, `"shadowed_by":[]`}),
			check("shadowed", "shop", "GET", "/*all", 200, []string{`"ok":true`, `"shadows":[]`, "/users/:id", "/users/me", "/files/*rest"}),
			check("free", "shop", "POST", "/users/:id", 200, []string{`"ok":true`, `"conflicts":[]`, `"shadows":[]`, `"shadowed_by":[]`}),
			// Another app's routes are never seen.
			check("other app's path", "shop", "GET", "/posts/:id", 200, []string{`"ok":true`, `"conflicts":[]`}, "/posts/:slug"),
			check("blog conflicts", "blog", "GET", "/posts/:id", 200, []string{`"ok":false`, "/posts/:slug"}, "/users"),
			check("domain syntax", "shop", "GET", "/{id}", 400, []string{`"field":"path"`, "domains"}),
			check("bad method", "shop", "FETCH", "/x", 400, []string{`"field":"method"`}),
			check("missing app", "nope", "GET", "/x", 404, nil),
			match("static", "shop", "GET", "/users/me", 200, []string{`"path":"/users/me"`, `"name":"users"`, `"params":{}`}),
			match("param", "shop", "GET", "/users/42?x=1", 200, []string{`"path":"/users/:id"`, `"params":{"id":"42"}`, `"live_version":1`}),
			match("wildcard", "shop", "GET", "/files/a/b.txt", 200, []string{`"params":{"rest":"a/b.txt"}`}),
			match("head falls back to get", "shop", "HEAD", "/users/7", 200, []string{`"path":"/users/:id"`}),
			match("no route", "shop", "POST", "/users/7", 404, []string{"no route of app", "POST /users/7"}),
			match("other app's route", "shop", "GET", "/posts/x", 404, nil),
			match("blog", "blog", "GET", "/posts/hello", 200, []string{`"params":{"slug":"hello"}`, `"name":"posts"`}),
			match("relative path", "shop", "GET", "users", 400, []string{`"field":"path"`}),
			match("ANY is no request method", "shop", "ANY", "/users/me", 400, []string{`"field":"method"`}),
			// Every route of an app, whichever script binds it.
			{name: "app routes", method: "GET", url: "/apps/shop/routes", status: 200,
				want: []string{`"path":"/users/:id"`, `"path":"/users/me"`, `"path":"/files/*rest"`}, notWant: []string{"/posts/"}},
			{name: "other app's routes", method: "GET", url: "/apps/blog/routes", status: 200, want: []string{`"path":"/posts/:slug"`}, notWant: []string{"/users"}},
			{name: "routes of a missing app", method: "GET", url: "/apps/nope/routes", status: 404},
		})
	})
}
