package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/config"
)

// startIsolated starts picloud with the admin user and the given
// executor isolation ("process" or "none").
func startIsolated(t *testing.T, isolation string, env ...string) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.hcl")
	hcl := fmt.Sprintf("data_dir = %q\n\nexecutor {\n  isolation = %q\n}\n", filepath.Join(dir, "data"), isolation)
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerArgs(t, []string{"--config", cfg}, append(adminEnv(), env...)...)
	s.token = s.login(adminName, adminPassword)
	return s
}

// raw sends a request with repeated headers (headers in order, as pairs)
// to host and returns the response.
func (s *server) raw(method, host, path string, headers ...string) response {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

const cookieScript = `package main

import (
	"strings"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	sid, ok := req.Cookie("sid")
	resp := picloud.Text(200, strings.Join(req.HeaderValues("X-Multi"), "|")+" sid="+sid+" "+map[bool]string{true: "found", false: "missing"}[ok])
	resp.Headers["X-V1"] = "v1"
	resp.AddHeader("Link", "</a>; rel=preload")
	resp.AddHeader("Link", "</b>; rel=preload")
	resp.AddHeader("Bad Name", "x")
	resp.SetCookie(&picloud.Cookie{Name: "a", Value: "1", Path: "/", HttpOnly: true, SameSite: "Lax"})
	resp.SetCookie(&picloud.Cookie{Name: "b", Value: "2", MaxAge: 60})
	resp.SetCookie(&picloud.Cookie{Name: "picloud_session", Value: "stolen"})
	if err := resp.SetCookie(&picloud.Cookie{Name: "no good"}); err != nil {
		picloud.Log(err)
	}
	return resp
}
`

// TestMultiValueHeadersAndCookies: a script reads every value of a
// repeated request header and its cookies, and answers several values of
// one header and several cookies, in a worker process and in the server
// alike; the session cookie and invalid headers are still dropped.
func TestMultiValueHeadersAndCookies(t *testing.T) {
	for _, isolation := range []string{"process", "none"} {
		t.Run(isolation, func(t *testing.T) {
			s := startIsolated(t, isolation)
			s.newApp(t, "web")
			s.addScript(t, "web", "cookies", cookieScript, "/c")
			r := s.raw("GET", "web.localhost", "/c", "X-Multi", "one", "X-Multi", "two, three", "Cookie", "theme=dark; sid=s1")
			expect(t, "cookies", r, 200, "one|two, three sid=s1 found")
			if got := r.Header.Values("Link"); !slices.Equal(got, []string{"</a>; rel=preload", "</b>; rel=preload"}) {
				t.Errorf("Link = %q, want both values in order", got)
			}
			if got := r.Header.Get("X-V1"); got != "v1" {
				t.Errorf("X-V1 = %q: Headers of v1 scripts must keep working", got)
			}
			cookies := r.Header.Values("Set-Cookie")
			want := []string{"a=1; Path=/; HttpOnly; SameSite=Lax", "b=2; Max-Age=60"}
			if !slices.Equal(cookies, want) {
				t.Errorf("Set-Cookie = %q, want %q (the session cookie dropped)", cookies, want)
			}
			if _, ok := r.Header["Bad Name"]; ok {
				t.Error("an invalid header name went out")
			}
			// The log says what was dropped and why SetCookie failed.
			eventually(t, 10*time.Second, "the invocation record", func() bool {
				l := s.do("GET", adminAPI+"/invocations?app=web", nil)
				return l.Status == 200 && strings.Contains(string(l.Body), `picloud: invalid cookie name`) &&
					strings.Contains(string(l.Body), `dropped Set-Cookie \"picloud_session\"`) &&
					strings.Contains(string(l.Body), `response header \"Bad Name\" dropped`)
			})
		})
	}
}

const paramsScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(200, map[string]any{"method": req.Method, "path": req.Path, "params": req.Params})
}
`

// bind binds script id to method and path.
func (s *server) bind(t *testing.T, id int64, method, path string) {
	t.Helper()
	r := s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id), map[string]string{"method": method, "path": path})
	expect(t, "bind "+method+" "+path, r, 201)
}

// TestMethodNotAllowedAndExecuteParams: a path that matches routes but
// not the request's method is 405 with Allow (HEAD beside GET), a path
// that matches nothing stays 404, and a call by script id whose path
// matches one of the script's routes gets the route's parameters.
func TestMethodNotAllowedAndExecuteParams(t *testing.T) {
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
	s.newApp(t, "api")
	r := s.do("POST", adminAPI+"/apps/api/scripts", map[string]string{"name": "users", "source": paramsScript})
	expect(t, "create", r, 201)
	id := int64(r.json(t)["id"].(float64))
	s.bind(t, id, "GET", "/users/:id")
	s.bind(t, id, "DELETE", "/users/:id")
	s.bind(t, id, "ANY", "/any/:x")

	cases := []struct {
		method, path string
		status       int
		allow, body  string
	}{
		{"GET", "/users/7", 200, "", `"params":{"id":"7"}`},
		{"HEAD", "/users/7", 200, "", ""},
		{"POST", "/users/7", 405, "DELETE, GET, HEAD", `"code":"method_not_allowed"`},
		{"PUT", "/any/1", 200, "", `"params":{"x":"1"}`},
		{"POST", "/nothing", 404, "", `"code":"not_found"`},
	}
	for _, c := range cases {
		r := s.raw(c.method, "api.localhost", c.path)
		expect(t, c.method+" "+c.path, r, c.status, c.body)
		if got := r.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow = %q, want %q", c.method, c.path, got, c.allow)
		}
	}

	exec := fmt.Sprintf("/api/v1/execute/%d", id)
	expect(t, "execute with a route's path", s.do("GET", exec+"/users/42", nil), 200, `"path":"/users/42"`, `"params":{"id":"42"}`)
	expect(t, "execute with no route's path", s.do("GET", exec+"/other", nil), 200, `"params":null`)
	expect(t, "execute with another method", s.do("POST", exec+"/users/42", nil), 200, `"params":null`)
}

const secretPanic = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	panic("secret-token-42 leaked")
}
`

// TestErrorPrivacy: a public caller of a failing script gets the status,
// the error code and the request id, never the panic text, its line, the
// worker's crash report or script ids; the invocation log and an admin's
// call by id keep the details, and server.public_errors shows them to
// everyone.
func TestErrorPrivacy(t *testing.T) {
	secrets := []string{"secret-token-42", "line ", "stack overflow", "goroutine", "version"}
	setup := func(t *testing.T, s *server) (panicID int64) {
		s.newApp(t, "priv")
		r := s.do("POST", adminAPI+"/apps/priv/scripts", map[string]string{"name": "boom", "source": secretPanic})
		expect(t, "create boom", r, 201)
		panicID = int64(r.json(t)["id"].(float64))
		s.bind(t, panicID, "GET", "/boom")
		s.addScript(t, "priv", "deep", deepRecursion, "/deep")
		return panicID
	}

	t.Run("private by default", func(t *testing.T) {
		s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
		panicID := setup(t, s)
		for _, c := range []struct {
			path, code string
			status     int
		}{{"/boom", "script_panic", 500}, {"/deep", "worker_crashed", 502}} {
			r := s.anon().do("GET", c.path, nil, "Host", "priv.localhost")
			expect(t, "public "+c.path, r, c.status, `"code":"`+c.code+`"`, `"request_id":"`+r.Header.Get("X-Request-Id")+`"`)
			for _, secret := range secrets {
				if strings.Contains(string(r.Body), secret) {
					t.Errorf("public %s shows %q: %s", c.path, secret, r.Body)
				}
			}
		}
		// The details are in the invocation log.
		eventually(t, 10*time.Second, "the panic's details in the invocation log", func() bool {
			l := s.do("GET", fmt.Sprintf("%s/invocations?script=%d", adminAPI, panicID), nil)
			return strings.Contains(string(l.Body), "secret-token-42 leaked") && strings.Contains(string(l.Body), "line 6")
		})
		// An admin's call by id keeps them.
		r := s.do("GET", fmt.Sprintf("/api/v1/execute/%d", panicID), nil)
		expect(t, "execute by id", r, 500, `"code":"script_panic"`, "secret-token-42 leaked", "line 6")
	})

	t.Run("public_errors", func(t *testing.T) {
		s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_PUBLIC_ERRORS=true")
		setup(t, s)
		r := s.anon().do("GET", "/boom", nil, "Host", "priv.localhost")
		expect(t, "public with details", r, 500, `"code":"script_panic"`, "secret-token-42 leaked", "line 6")
	})

	// The app's settings.public_errors overrides the server's, both ways,
	// and null gives the server's back.
	for _, c := range []struct {
		name   string
		server string
		app    any
		shown  bool
	}{
		{"app true over server false", "false", true, true},
		{"app false over server true", "true", false, false},
		{"app null keeps server true", "true", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_PUBLIC_ERRORS="+c.server)
			setup(t, s)
			r := s.do("PATCH", adminAPI+"/apps/priv", map[string]any{"settings": map[string]any{"public_errors": c.app}})
			expect(t, "set public_errors", r, 200)
			if got := r.json(t)["settings"].(map[string]any)["public_errors"]; got != c.app {
				t.Errorf("settings.public_errors = %v, want %v", got, c.app)
			}
			r = s.anon().do("GET", "/boom", nil, "Host", "priv.localhost")
			expect(t, "public", r, 500, `"code":"script_panic"`)
			if got := strings.Contains(string(r.Body), "secret-token-42 leaked"); got != c.shown {
				t.Errorf("details shown = %v, want %v: %s", got, c.shown, r.Body)
			}
		})
	}
	t.Run("invalid value", func(t *testing.T) {
		s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
		s.newApp(t, "priv")
		r := s.do("PATCH", adminAPI+"/apps/priv", map[string]any{"settings": map[string]any{"public_errors": "yes"}})
		expect(t, "public_errors string", r, 400, "settings.public_errors")
	})
}

// TestDeployByNameAndInvocationPaging: PUT by name creates, then updates,
// and the same source again makes no new version; the invocation log
// pages by id (before/after) and filters by time (since).
func TestDeployByNameAndInvocationPaging(t *testing.T) {
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
	s.newApp(t, "auto")
	put := func(src string) response {
		return s.do("PUT", adminAPI+"/apps/auto/scripts/by-name/echo", map[string]string{"source": src})
	}
	expect(t, "create by name", put(paramsScript), 201, `"version":1`, `"name":"echo"`)
	expect(t, "same source", put(paramsScript), 200, `"version":1`)
	expect(t, "new source", put(paramsScript+"\n// v2\n"), 200, `"version":2`)
	expect(t, "same again", put(paramsScript+"\n// v2\n"), 200, `"version":2`)
	expect(t, "bad name", s.do("PUT", adminAPI+"/apps/auto/scripts/by-name/-x", map[string]string{"source": paramsScript}), 400, `"field":"name"`)
	expect(t, "compile error", put("package main\n"), 422)
	expect(t, "unknown app", s.do("PUT", adminAPI+"/apps/nope/scripts/by-name/echo", map[string]string{"source": paramsScript}), 404)
	vs := s.do("GET", adminAPI+"/apps/auto/scripts", nil)
	if n := strings.Count(string(vs.Body), `"name":"echo"`); n != 1 {
		t.Fatalf("%d scripts named echo: %s", n, vs.Body)
	}

	start := time.Now().UTC().Add(-time.Second)
	for range 5 {
		expect(t, "call", s.do("GET", "/", nil), 200)
	}
	var ids []int64
	eventually(t, 10*time.Second, "five records", func() bool {
		var page struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
		}
		r := s.do("GET", adminAPI+"/invocations?since="+start.Format(time.RFC3339), nil)
		_ = jsonUnmarshal(r.Body, &page)
		ids = ids[:0]
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		return len(ids) == 5
	})
	// Newest first; before and after page by id.
	r := s.do("GET", fmt.Sprintf("%s/invocations?limit=2&before=%d", adminAPI, ids[1]), nil)
	expect(t, "before", r, 200, fmt.Sprintf(`"id":%d,`, ids[2]), fmt.Sprintf(`"id":%d,`, ids[3]))
	if strings.Contains(string(r.Body), fmt.Sprintf(`"id":%d,`, ids[1])) || strings.Contains(string(r.Body), fmt.Sprintf(`"id":%d,`, ids[4])) {
		t.Errorf("before=%d limit=2 answered other ids: %s", ids[1], r.Body)
	}
	r = s.do("GET", fmt.Sprintf("%s/invocations?after=%d", adminAPI, ids[1]), nil)
	expect(t, "after", r, 200, fmt.Sprintf(`"id":%d,`, ids[0]))
	if strings.Contains(string(r.Body), fmt.Sprintf(`"id":%d,`, ids[1])) {
		t.Errorf("after=%d includes it: %s", ids[1], r.Body)
	}
	expect(t, "since in the future", s.do("GET", adminAPI+"/invocations?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil), 200, `"items":[]`)
	expect(t, "since as a duration", s.do("GET", adminAPI+"/invocations?since=1h", nil), 200, fmt.Sprintf(`"id":%d,`, ids[4]))
	expect(t, "bad since", s.do("GET", adminAPI+"/invocations?since=yesterday", nil), 400, `"field":"since"`)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestHelpListsEverything: `picloud --help` names every command and every
// PICLOUD_* variable the server or the client reads.
func TestHelpListsEverything(t *testing.T) {
	out, code := runPicloud(t, nil, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d: %s", code, out)
	}
	want := []string{"serve", "migrate", "version", "deploy", "dev", "invoke", "logs", "login", "apps", "scripts", "routes", "tokens",
		"PICLOUD_ADMIN_USERNAME", "PICLOUD_ADMIN_PASSWORD", "PICLOUD_SERVER", "PICLOUD_TOKEN"}
	for _, kv := range config.Environment() {
		want = append(want, kv[0])
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("--help does not mention %s:\n%s", w, out)
		}
	}
}
