package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tosser answers a page that tries to set the admin session cookie for
// the whole site, next to a cookie of its own.
const tosser = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	r := picloud.HTML(200, "<p>hello</p>")
	r.Headers["Set-Cookie"] = "picloud_session=tossed; Domain=localhost; Path=/api/v1/admin; Max-Age=31536000"
	r.Headers["set-cookie"] = "theme=dark; Path=/"
	return r
}
`

// TestAdminOrigin: on the real binary, the admin UI and API answer only
// on the admin host (admin.localhost by default, printed at start), no
// app answers that host, a script cannot set the session cookie, and a
// script run there through execute is inert.
func TestAdminOrigin(t *testing.T) {
	s := startServer(t, "PICLOUD_DATA_DIR="+t.TempDir())
	origin := s.adminOrigin()
	eventually(t, 10*time.Second, "the setup link and the admin URL on the admin host", func() bool {
		logs := s.logs.String()
		return strings.Contains(logs, origin+"/admin/setup?token=") && strings.Contains(logs, "admin UI: "+origin+"/admin/")
	})
	s.stop()
	s = startWithAdmin(t, append(adminEnv(), "PICLOUD_DATA_DIR="+t.TempDir())...)
	hostPort := strings.TrimPrefix(s.base, "http://")

	// Elsewhere the admin paths do not exist, for a valid token too.
	for _, path := range []string{adminAPI + "/auth/me", "/admin/", "/api/v1/execute/1"} {
		expect(t, path+" on the listen address", s.do("GET", path, nil, "Host", hostPort), 404, "server.admin_host")
		expect(t, path+" on an app host", s.do("GET", path, nil, "Host", "hello.localhost"), 404, "server.admin_host")
	}
	// On the admin host: the API, the UI with its policy, and no app.
	expect(t, "admin API", s.do("GET", adminAPI+"/auth/me", nil), 200, `"username":"admin"`)
	r := s.do("GET", "/admin/", nil)
	expect(t, "UI", r, 200, "<html")
	for _, want := range []string{"script-src 'self' 'sha256-", "frame-ancestors 'none'", "object-src 'none'"} {
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) || strings.Contains(csp, "unsafe-eval") {
			t.Fatalf("UI Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	expect(t, "hello world elsewhere", s.do("GET", "/", nil), 200, `{"hello":"world"}`)
	expect(t, "no default app on the admin host", s.do("GET", "/greet", nil, "Host", "admin.localhost"), 404, "no app answers it")
	r = s.noRedirect(t, "admin.localhost", "/")
	if r.Status != 302 || r.Header.Get("Location") != "/admin/" {
		t.Fatalf("/ on the admin host: %d Location %q", r.Status, r.Header.Get("Location"))
	}
	expect(t, "slug admin", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "admin"}), 400, "reserved")
	expect(t, "claim of the admin host", s.do("POST", adminAPI+"/apps/hello/domains", map[string]string{"pattern": "admin.localhost"}), 400)

	// A script may not set the session cookie; the log says it tried.
	id := s.deploy(t, "hello", "tosser", tosser, "/toss")
	r = s.do("GET", "/toss", nil)
	expect(t, "tosser", r, 200, "hello")
	if got := r.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "theme=dark; Path=/" {
		t.Fatalf("Set-Cookie = %q, want only the script's own cookie", got)
	}
	eventually(t, 5*time.Second, "the note in the invocation log", func() bool {
		r := s.do("GET", fmt.Sprintf("%s/invocations?script=%d", adminAPI, id), nil)
		return strings.Contains(string(r.Body), "scripts may not set the admin session cookie")
	})
	// Run on the admin host, it sets no cookie and is sandboxed.
	r = s.do("GET", fmt.Sprintf("/api/v1/execute/%d", id), nil)
	expect(t, "execute", r, 200, "hello")
	if got := r.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("execute: Set-Cookie = %q, want none", got)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") {
		t.Fatalf("execute: Content-Security-Policy = %q, want a sandbox", csp)
	}
}

// TestAdminHostConfigured: PICLOUD_ADMIN_HOST moves the admin to a host
// of its own; admin.localhost is then an ordinary host.
func TestAdminHostConfigured(t *testing.T) {
	s := startServer(t, append(adminEnv(), "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_ADMIN_HOST=pi-admin.test")...)
	port := s.base[strings.LastIndexByte(s.base, ':'):]
	login := s.do("POST", adminAPI+"/auth/login", map[string]string{"username": adminName, "password": adminPassword},
		"Host", "pi-admin.test"+port)
	expect(t, "login on the admin host", login, 200, `"token":"`)
	token := login.json(t)["token"].(string)
	expect(t, "admin.localhost is not it", s.as(token).do("GET", adminAPI+"/auth/me", nil), 404)
	expect(t, "the default app answers admin.localhost", s.do("GET", "/", nil, "Host", "admin.localhost"), 200, `{"hello":"world"}`)
	eventually(t, 10*time.Second, "the admin URL", func() bool {
		return strings.Contains(s.logs.String(), "admin UI: http://pi-admin.test"+port+"/admin/")
	})
}

var metricsLine = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// TestMetricsListener: /metrics is served on server.metrics_listen, and
// on no host of the public listener.
func TestMetricsListener(t *testing.T) {
	s := startServer(t, append(adminEnv(), "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_METRICS_LISTEN=127.0.0.1:0")...)
	var addr string
	eventually(t, 10*time.Second, "the metrics listener", func() bool {
		m := metricsLine.FindStringSubmatch(s.logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	expect(t, "hello", s.do("GET", "/", nil), 200)
	for _, host := range []string{"admin.localhost", "hello.localhost", strings.TrimPrefix(s.base, "http://")} {
		expect(t, "/metrics on "+host, s.do("GET", "/metrics", nil, "Host", host), 404)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), `picloud_requests_total{class="2xx",node="`) {
		t.Fatalf("metrics listener: %d %s", res.StatusCode, b)
	}
}
