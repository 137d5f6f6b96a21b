package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

const greetV1 = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	picloud.Log("greeting", req.Params["name"])
	return picloud.JSON(200, map[string]any{"greeting": "hello " + req.Params["name"]})
}
`

const greetV2 = `package main

import (
	"fmt"
	"strings"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	fmt.Println("v2 for", req.Params["name"])
	return picloud.Text(200, "HELLO "+strings.ToUpper(req.Params["name"]))
}
`

// greetBroken fails to compile on line 6, column 9.
const greetBroken = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return undefinedThing(req)
}
`

const boom = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	var m map[string]int
	m["x"] = 1
	return picloud.Text(200, "unreachable")
}
`

// TestReadmeTour walks the README's five-minute tour against the real
// binary, on SQLite and on PostgreSQL.
func TestReadmeTour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		env := []string{"PICLOUD_DATA_DIR=" + tg.DataDir, "PICLOUD_DATABASE_URL=" + tg.URL}
		s := startWithAdmin(t, env...)

		// A fresh install says hello on /.
		r := s.do("GET", "/", nil)
		expect(t, "hello world", r, 200, `{"hello":"world"}`)
		if r.Header.Get("X-Request-Id") == "" {
			t.Fatal("hello world: no X-Request-Id")
		}
		expect(t, "hello name", s.do("GET", "/?name=you", nil), 200, `{"hello":"you"}`)
		expect(t, "healthz", s.do("GET", "/healthz", nil), 200, "ok")
		expect(t, "version", s.do("GET", "/version", nil), 200, `"api":"v1"`, `"sdk":"v2"`, `"public_base_url"`)
		expect(t, "no route", s.do("GET", "/nope", nil), 404, `"code":"not_found"`, `"request_id"`)

		// Deploy a script and bind a route.
		r = s.do("POST", adminAPI+"/apps/hello/scripts", map[string]string{"name": "greet", "source": greetV1})
		expect(t, "create script", r, 201, `"version":1`)
		id := int64(r.json(t)["id"].(float64))
		r = s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id), map[string]string{"method": "GET", "path": "/greet/:name"})
		expect(t, "bind route", r, 201, `"path":"/greet/:name"`)
		expect(t, "call v1", s.do("GET", "/greet/alice", nil), 200, `{"greeting":"hello alice"}`)

		// A change is live for the very next request.
		r = s.do("PUT", fmt.Sprintf("%s/scripts/%d", adminAPI, id), map[string]string{"source": greetV2})
		expect(t, "update", r, 200, `"version":2`)
		expect(t, "call v2", s.do("GET", "/greet/alice", nil), 200, "HELLO ALICE")

		// A script that does not compile is refused; v2 keeps serving.
		r = s.do("PUT", fmt.Sprintf("%s/scripts/%d", adminAPI, id), map[string]string{"source": greetBroken})
		expect(t, "broken update", r, 422, `"code":"compile_error"`, `"line":6`, "undefinedThing")
		expect(t, "still v2", s.do("GET", "/greet/bob", nil), 200, "HELLO BOB")

		// Conflicting and reserved routes are refused.
		r = s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id), map[string]string{"method": "GET", "path": "/greet/:other"})
		expect(t, "conflicting route", r, 409, `"code":"conflict"`, "/greet/:name")
		r = s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id), map[string]string{"method": "GET", "path": "/api/mine"})
		expect(t, "reserved route", r, 400, `"field":"path"`)

		// A panicking script answers 500; the server keeps serving.
		r = s.do("POST", adminAPI+"/apps/hello/scripts", map[string]string{"name": "boom", "source": boom})
		expect(t, "create boom", r, 201)
		boomID := int64(r.json(t)["id"].(float64))
		expect(t, "bind boom", s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, boomID), map[string]string{"method": "ANY", "path": "/boom"}), 201)
		for range 3 {
			expect(t, "boom", s.do("GET", "/boom", nil), 500, `"code":"script_panic"`)
			expect(t, "after boom", s.do("GET", "/greet/carol", nil), 200, "HELLO CAROL")
		}

		// Run by id, bypassing routes.
		expect(t, "execute", s.do("GET", fmt.Sprintf("/api/v1/execute/%d", id), nil), 200, "HELLO ")

		// Rollback to v1 is live at once.
		r = s.do("POST", fmt.Sprintf("%s/scripts/%d/rollback", adminAPI, id), map[string]int{"version": 1})
		expect(t, "rollback", r, 200, `"live_version":1`)
		expect(t, "call rolled back", s.do("GET", "/greet/dave", nil), 200, `{"greeting":"hello dave"}`)
		expect(t, "versions", s.do("GET", fmt.Sprintf("%s/scripts/%d/versions", adminAPI, id), nil), 200, `"version":2`, `"version":1`)

		// Invocations are recorded with their output, off the request path.
		eventually(t, 5*time.Second, "the invocation of /greet/dave with its log", func() bool {
			r := s.do("GET", fmt.Sprintf("%s/invocations?script=%d&limit=5", adminAPI, id), nil)
			return r.Status == 200 && strings.Contains(string(r.Body), "greeting dave")
		})
		expect(t, "panic invocations", s.do("GET", fmt.Sprintf("%s/invocations?script=%d&status=500", adminAPI, boomID), nil), 200, "script_panic")

		// Everything survives a restart, the session too.
		s.stop()
		token := s.token
		s = startServer(t, append(adminEnv(), env...)...)
		s.token = token
		expect(t, "after restart", s.do("GET", "/greet/erin", nil), 200, `{"greeting":"hello erin"}`)
		expect(t, "hello after restart", s.do("GET", "/", nil), 200, `{"hello":"world"}`)
		r = s.do("GET", adminAPI+"/apps/hello/scripts", nil)
		expect(t, "scripts after restart", r, 200, `"name":"greet"`, `"name":"boom"`, `"name":"hello"`)
	})
}
