package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

const okSource = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "ok")
}
`

const okSource2 = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "ok 2")
}
`

func TestApps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.runAll(t, []scenario{
			{name: "create", method: "POST", url: "/apps", body: map[string]string{"slug": "shop", "name": "Shop"}, status: 201, want: []string{`"slug":"shop"`, `"name":"Shop"`}},
			{name: "name defaults to slug", method: "POST", url: "/apps", body: map[string]string{"slug": "blog"}, status: 201, want: []string{`"name":"blog"`}},
			{name: "duplicate slug", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 409, want: []string{`"code":"conflict"`, "shop"}},
			{name: "uppercase slug", method: "POST", url: "/apps", body: map[string]string{"slug": "Shop"}, status: 400, want: []string{`"field":"slug"`}},
			{name: "slug with dot", method: "POST", url: "/apps", body: map[string]string{"slug": "a.b"}, status: 400, want: []string{`"field":"slug"`}},
			{name: "slug too long", method: "POST", url: "/apps", body: map[string]string{"slug": strings.Repeat("a", 64)}, status: 400, want: []string{`"field":"slug"`}},
			{name: "slug leading dash", method: "POST", url: "/apps", body: map[string]string{"slug": "-a"}, status: 400},
			{name: "slug all digits reads as an id", method: "POST", url: "/apps", body: map[string]string{"slug": "42"}, status: 400, want: []string{"not all digits"}},
			{name: "control char in name", method: "POST", url: "/apps", body: map[string]string{"slug": "x", "name": "a\x01b"}, status: 400, want: []string{`"field":"name"`}},
			{name: "malformed json", method: "POST", url: "/apps", body: `{"slug":`, status: 400, want: []string{`"code":"invalid_json"`, `"request_id":"test-req"`}},
			{name: "unknown field", method: "POST", url: "/apps", body: `{"slug":"x","owner":"me"}`, status: 400, want: []string{"owner"}},
			{name: "trailing data", method: "POST", url: "/apps", body: `{"slug":"x"} {}`, status: 400, want: []string{"after the JSON"}},
			{name: "empty body", method: "POST", url: "/apps", body: "", status: 400, want: []string{"empty"}},
			{name: "get by slug", method: "GET", url: "/apps/shop", status: 200, want: []string{`"slug":"shop"`}},
			{name: "get missing", method: "GET", url: "/apps/nope", status: 404, want: []string{`"code":"not_found"`}},
			{name: "list", method: "GET", url: "/apps", status: 200, want: []string{`"slug":"shop"`, `"slug":"blog"`}},
			{name: "unknown endpoint", method: "GET", url: "/nothing", status: 404, want: []string{`"code":"not_found"`}},
			{name: "wrong method", method: "DELETE", url: "/apps", status: 405},
		})
		if s.deployer.count() != 2 {
			t.Fatalf("deployer told of %d changes, want 2 (one per created app)", s.deployer.count())
		}

		// Rename, change slug, settings, delete.
		s.runAll(t, []scenario{
			{name: "rename", method: "PATCH", url: "/apps/shop", body: map[string]string{"name": "The Shop"}, status: 200, want: []string{`"name":"The Shop"`, `"slug":"shop"`}},
			{name: "change slug", method: "PATCH", url: "/apps/shop", body: map[string]string{"slug": "store"}, status: 200, want: []string{`"slug":"store"`}},
			{name: "old slug is no app", method: "GET", url: "/apps/shop", status: 404},
			{name: "new slug", method: "GET", url: "/apps/store", status: 200, want: []string{`"name":"The Shop"`}},
			{name: "slug taken", method: "PATCH", url: "/apps/store", body: map[string]string{"slug": "blog"}, status: 409, want: []string{"blog"}},
			{name: "bad slug", method: "PATCH", url: "/apps/store", body: map[string]string{"slug": "Not_A_Label"}, status: 400, want: []string{`"field":"slug"`}},
			{name: "digit slug", method: "PATCH", url: "/apps/store", body: map[string]string{"slug": "7"}, status: 400, want: []string{`"field":"slug"`}},
			{name: "empty name", method: "PATCH", url: "/apps/store", body: map[string]string{"name": ""}, status: 400, want: []string{`"field":"name"`}},
			{name: "unknown field", method: "PATCH", url: "/apps/store", body: `{"owner":"x"}`, status: 400, want: []string{"owner"}},
			{name: "settings", method: "PATCH", url: "/apps/store", body: `{"settings":{"timeout_ms":1500,"max_concurrency":2,"max_output":512,"max_request_body":1024,"max_response_body":2048}}`, status: 200,
				want: []string{`"timeout_ms":1500`, `"max_concurrency":2`, `"max_output":512`, `"max_request_body":1024`, `"max_response_body":2048`}},
			{name: "settings kept by other changes", method: "PATCH", url: "/apps/store", body: map[string]string{"name": "Shop"}, status: 200, want: []string{`"timeout_ms":1500`}},
			{name: "reset one setting", method: "PATCH", url: "/apps/store", body: `{"settings":{"timeout_ms":null}}`, status: 200, want: []string{`"timeout_ms":null`, `"max_concurrency":2`}},
			{name: "timeout zero", method: "PATCH", url: "/apps/store", body: `{"settings":{"timeout_ms":0}}`, status: 400, want: []string{`"field":"settings.timeout_ms"`, "between 1 and 600000"}},
			{name: "timeout huge", method: "PATCH", url: "/apps/store", body: `{"settings":{"timeout_ms":600001}}`, status: 400},
			{name: "concurrency negative", method: "PATCH", url: "/apps/store", body: `{"settings":{"max_concurrency":-1}}`, status: 400},
			{name: "request body over server limit", method: "PATCH", url: "/apps/store", body: `{"settings":{"max_request_body":2097152}}`, status: 400, want: []string{"server.max_request_body"}},
			{name: "fraction", method: "PATCH", url: "/apps/store", body: `{"settings":{"max_concurrency":1.5}}`, status: 400, want: []string{"whole number"}},
			{name: "string", method: "PATCH", url: "/apps/store", body: `{"settings":{"max_concurrency":"2"}}`, status: 400},
			{name: "unknown setting", method: "PATCH", url: "/apps/store", body: `{"settings":{"memory":1}}`, status: 400, want: []string{"unknown setting", "timeout_ms"}},
			{name: "a refused patch changed nothing", method: "GET", url: "/apps/store", status: 200, want: []string{`"max_concurrency":2`, `"name":"Shop"`}},
			{name: "patch missing", method: "PATCH", url: "/apps/nope", body: map[string]string{"name": "x"}, status: 404},
			{name: "delete", method: "DELETE", url: "/apps/store", status: 204},
			{name: "deleted", method: "GET", url: "/apps/store", status: 404},
			{name: "delete again", method: "DELETE", url: "/apps/store", status: 404},
			{name: "list after delete", method: "GET", url: "/apps", status: 200, want: []string{`"slug":"blog"`}, notWant: []string{`"slug":"store"`}},
		})
	})
}

func TestScripts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		id := s.create(t, scenario{name: "create", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "cart", "source": okSource}, status: 201, want: []string{`"version":1`, `"live_version":1`}})
		u := fmt.Sprintf("/scripts/%d", id)

		s.runAll(t, []scenario{
			{name: "duplicate name", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "cart", "source": okSource}, status: 409},
			{name: "bad name", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "../x", "source": okSource}, status: 400, want: []string{`"field":"name"`}},
			{name: "no source", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "x"}, status: 400, want: []string{`"field":"source"`}},
			{name: "huge source", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "x", "source": okSource + "//" + strings.Repeat("a", 300<<10)}, status: 413,
				want: []string{`"code":"source_too_large"`, `"field":"source"`, "over the limit of 262144 bytes (executor.max_source)"}},
			{name: "compile error", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "x", "source": strings.Replace(okSource, `"ok"`, `ok`, 1)}, status: 422, want: []string{`"code":"compile_error"`, `"line":6`, `"column"`}},
			{name: "forbidden import", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "x", "source": strings.Replace(okSource, `import "picloud"`, "import (\n\t\"os\"\n\t\"picloud\"\n)\n\nvar _ = os.Args", 1)}, status: 422, want: []string{`import \"os\" is not allowed`, `"line":4`}},
			{name: "missing app", method: "POST", url: "/apps/nope/scripts", body: map[string]string{"name": "x", "source": okSource}, status: 404},
			{name: "get", method: "GET", url: u, status: 200, want: []string{`"name":"cart"`, `"source":"package main`}},
			{name: "update", method: "PUT", url: u, body: map[string]string{"source": okSource2}, status: 200, want: []string{`"version":2`, `"live_version":2`}},
			{name: "broken update keeps v2", method: "PUT", url: u, body: map[string]string{"source": "package main\n"}, status: 422},
			{name: "still v2", method: "GET", url: u, status: 200, want: []string{`"live_version":2`, "ok 2"}},
			{name: "versions", method: "GET", url: u + "/versions", status: 200, want: []string{`"version":2`, `"version":1`}},
			{name: "rollback", method: "POST", url: u + "/rollback", body: map[string]int{"version": 1}, status: 200, want: []string{`"live_version":1`}},
			{name: "rollback missing version", method: "POST", url: u + "/rollback", body: map[string]int{"version": 9}, status: 404},
			{name: "rollback version 0", method: "POST", url: u + "/rollback", body: map[string]int{"version": 0}, status: 400, want: []string{`"field":"version"`}},
			{name: "list", method: "GET", url: "/apps/shop/scripts", status: 200, want: []string{`"name":"cart"`}},
			{name: "non-numeric id", method: "GET", url: "/scripts/abc", status: 400, want: []string{`"field":"id"`}},
			{name: "negative id", method: "GET", url: "/scripts/-1", status: 400},
			{name: "missing", method: "GET", url: "/scripts/99999", status: 404},
			{name: "update missing", method: "PUT", url: "/scripts/99999", body: map[string]string{"source": okSource}, status: 404},
		})

		// Routes, then delete cascades to them.
		s.runAll(t, []scenario{
			{name: "route", method: "POST", url: u + "/routes", body: map[string]string{"method": "get", "path": "/users/:id"}, status: 201, want: []string{`"method":"GET"`}},
			{name: "conflict", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "/users/:name"}, status: 409, want: []string{"/users/:id"}},
			{name: "same path other method", method: "POST", url: u + "/routes", body: map[string]string{"method": "POST", "path": "/users/:id"}, status: 201},
			{name: "static beside param", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "/users/me"}, status: 201},
			{name: "bad method", method: "POST", url: u + "/routes", body: map[string]string{"method": "FETCH", "path": "/x"}, status: 400, want: []string{`"field":"method"`}},
			{name: "reserved api", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "/api/x"}, status: 400, want: []string{`"field":"path"`}},
			{name: "reserved admin", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "/admin"}, status: 400},
			{name: "reserved healthz", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "/healthz"}, status: 400},
			{name: "domain syntax", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "/{id}"}, status: 400},
			{name: "relative", method: "POST", url: u + "/routes", body: map[string]string{"method": "GET", "path": "x"}, status: 400},
			{name: "list routes", method: "GET", url: u + "/routes", status: 200, want: []string{"/users/:id", "/users/me"}},
			{name: "delete missing route", method: "DELETE", url: "/routes/99999", status: 404},
			{name: "delete", method: "DELETE", url: u, status: 204},
			{name: "gone", method: "GET", url: u, status: 404},
			{name: "routes gone", method: "GET", url: u + "/routes", status: 404},
		})
	})
}

// TestScriptCheck shows what the upload check (in a checker process)
// refuses and how: what fails only at load, with its line; a check over
// its limits, with the limit named; and a stored version the check would
// refuse now, when it is rolled back to.
func TestScriptCheck(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		generic := "package main\n\nimport \"picloud\"\n\ntype Pair[K, V any] struct{ A K; B V }\n\n" +
			"func Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.JSON(200, map[string]any{\"p\": Pair[string, int]{\"a\", 1}})\n}\n"
		initPanics := "package main\n\nimport \"picloud\"\n\nvar first = []string{}[0]\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n"
		bomb := "package main\n\nimport \"picloud\"\n\nfunc F[T any](n int) int {\n\tif n == 0 {\n\t\treturn 0\n\t}\n\treturn F[[]T](n - 1)\n}\n\n" +
			"func Handle(req *picloud.Request) *picloud.Response { return picloud.JSON(200, F[int](3)) }\n"
		s.runAll(t, []scenario{
			{name: "generic literal in a map literal", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "g", "source": generic}, status: 422,
				want: []string{`"code":"compile_error"`, `"line":8`, `"column":47`, "Pair[string, int]{...} as an element"}},
			{name: "initialiser panics", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "p", "source": initPanics}, status: 422,
				want: []string{`"code":"compile_error"`, `"line":5`, "index out of range"}},
			{name: "self-instantiating generic", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "b", "source": bomb}, status: 422,
				want: []string{`"code":"check_limit"`, `"field":"source"`, "the check of this script"}},
			{name: "nothing stored", method: "GET", url: "/apps/shop/scripts", status: 200, want: []string{`"items":[]`}},
		})
		id := s.create(t, scenario{name: "create", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "cart", "source": okSource}, status: 201})
		// A version stored before the check refused its kind of source.
		if _, _, err := s.db.UpdateScript(context.Background(), id, generic); err != nil {
			t.Fatal(err)
		}
		u := fmt.Sprintf("/scripts/%d", id)
		s.runAll(t, []scenario{
			{name: "rollback to the good version", method: "POST", url: u + "/rollback", body: map[string]int{"version": 1}, status: 200, want: []string{`"live_version":1`}},
			{name: "rollback to the refused version", method: "POST", url: u + "/rollback", body: map[string]int{"version": 2}, status: 422, want: []string{`"line":8`}},
			{name: "still version 1", method: "GET", url: u, status: 200, want: []string{`"live_version":1`}},
		})
	})
}

func TestInvocationFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.runAll(t, []scenario{
			{name: "empty", method: "GET", url: "/invocations", status: 200, want: []string{`"items":[]`}},
			{name: "bad status", method: "GET", url: "/invocations?status=42", status: 400, want: []string{`"field":"status"`}},
			{name: "bad limit", method: "GET", url: "/invocations?limit=100000", status: 400, want: []string{`"field":"limit"`}},
			{name: "bad script", method: "GET", url: "/invocations?script=x", status: 400},
			{name: "unknown app", method: "GET", url: "/invocations?app=nope", status: 404},
			{name: "missing", method: "GET", url: "/invocations/nope", status: 404},
			{name: "config", method: "GET", url: "/config", status: 200, want: []string{`"listen":"test"`}},
		})
	})
}

func TestScriptSettingsAndStatus(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg, func(o *admin.Options) { o.Node = "pi1-7946" })
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		s.run(t, scenario{name: "other app", method: "POST", url: "/apps", body: map[string]string{"slug": "other"}, status: 201})
		id := s.create(t, scenario{name: "create", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "cart", "source": okSource}, status: 201, want: []string{`"settings":{"timeout_ms":null`}})
		u := fmt.Sprintf("/scripts/%d", id)
		status := fmt.Sprintf("/apps/shop/scripts/%d/status", id)

		s.runAll(t, []scenario{
			{name: "set limits", method: "PATCH", url: u, body: map[string]any{"settings": map[string]any{"timeout_ms": 250, "max_output": 1024}}, status: 200,
				want: []string{`"timeout_ms":250`, `"max_output":1024`, `"max_concurrency":null`, `"live_version":1`}},
			{name: "stored", method: "GET", url: u, status: 200, want: []string{`"timeout_ms":250`, `"max_output":1024`}},
			{name: "clear one", method: "PATCH", url: u, body: map[string]any{"settings": map[string]any{"timeout_ms": nil}}, status: 200,
				want: []string{`"timeout_ms":null`, `"max_output":1024`}},
			{name: "unknown setting", method: "PATCH", url: u, body: map[string]any{"settings": map[string]any{"memory": 1}}, status: 400,
				want: []string{`"field":"settings.memory"`, "max_response_body"}},
			{name: "zero timeout", method: "PATCH", url: u, body: map[string]any{"settings": map[string]any{"timeout_ms": 0}}, status: 400,
				want: []string{`"field":"settings.timeout_ms"`, "between 1 and"}},
			{name: "huge concurrency", method: "PATCH", url: u, body: map[string]any{"settings": map[string]any{"max_concurrency": 100000}}, status: 400,
				want: []string{`"field":"settings.max_concurrency"`}},
			{name: "not a number", method: "PATCH", url: u, body: map[string]any{"settings": map[string]any{"max_response_body": "6MiB"}}, status: 400,
				want: []string{`"field":"settings.max_response_body"`, "whole number"}},
			{name: "no settings", method: "PATCH", url: u, body: map[string]any{}, status: 400, want: []string{`"field":"settings"`}},
			{name: "missing script", method: "PATCH", url: "/scripts/99999", body: map[string]any{"settings": map[string]any{}}, status: 404},
			{name: "status ok", method: "GET", url: status, status: 200, want: []string{`{"state":"ok","reason":"","crashes":0,"node":"pi1-7946","health":{"state":"ok","recent_calls":0,"recent_failures":0,`}},
			{name: "list has state", method: "GET", url: "/apps/shop/scripts", status: 200, want: []string{`"state":"ok"`}},
			{name: "status through another app", method: "GET", url: fmt.Sprintf("/apps/other/scripts/%d/status", id), status: 404},
			{name: "status of a missing script", method: "GET", url: "/apps/shop/scripts/99999/status", status: 404},
		})

		until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		s.deployer.mu.Lock()
		s.deployer.status = []admin.ScriptState{
			{ScriptID: id, Crashes: 6, ParkedUntil: until, ParkReason: "crashed 6 times"},
		}
		s.deployer.mu.Unlock()
		s.runAll(t, []scenario{
			{name: "status parked", method: "GET", url: status, status: 200,
				want: []string{`{"state":"parked","parked_until":"2030-01-02T03:04:05Z","reason":"crashed 6 times","crashes":6,"node":"pi1-7946","parked_by":"pi1-7946","health":{"state":"parked",`}},
			{name: "list parked", method: "GET", url: "/apps/shop/scripts", status: 200, want: []string{`"state":"parked","health":{"state":"parked"`}},
		})

		// Parked by another node: the stored parking is the cluster's,
		// whatever this node's router holds.
		s.deployer.mu.Lock()
		s.deployer.status = []admin.ScriptState{{ScriptID: id, Crashes: 1}}
		s.deployer.mu.Unlock()
		app, err := s.db.App(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		err = s.db.ParkScript(context.Background(), models.ParkedScript{ScriptID: id, AppID: app.ID, Version: 1,
			ParkedUntil: until, Node: "pi2-7946", Reason: "crashed 6 times on pi2"})
		if err != nil {
			t.Fatal(err)
		}
		s.run(t, scenario{name: "status parked by another node", method: "GET", url: status, status: 200,
			want: []string{`{"state":"parked","parked_until":"2030-01-02T03:04:05Z","reason":"crashed 6 times on pi2","crashes":1,"node":"pi1-7946","parked_by":"pi2-7946","health":{"state":"parked",`}})
		// A new version is not parked.
		s.run(t, scenario{name: "new version", method: "PUT", url: u, body: map[string]string{"source": okSource + "\n"}, status: 200})
		s.deployer.mu.Lock()
		s.deployer.status = nil
		s.deployer.mu.Unlock()
		s.run(t, scenario{name: "status of the new version", method: "GET", url: status, status: 200,
			want: []string{`{"state":"ok","reason":"","crashes":0,"node":"pi1-7946","health":`}})
	})
}
