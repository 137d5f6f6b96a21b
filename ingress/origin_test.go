package ingress_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/domain"
	"github.com/picloud/picloud/ingress"
)

// adminHost is the admin host of the servers these tests start.
const adminHost = "admin.test"

// startOrigin starts an ingress with admin, UI and execute handlers that
// say who answered, and three apps: hello (the default app), admin (whose
// {slug}.{base_domain} is the admin host) and grabby (which claims the
// admin host). Every app answers "app=<id> <path>" with headers.
func startOrigin(t *testing.T, headers []actors.Header, rec ingress.Recorder) string {
	t.Helper()
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		return actors.Result{Status: 200, Body: []byte(inv.Request.Path), Headers: headers, Output: "ran"}, true
	}}
	s := ingress.New(ingress.Options{
		Timeout:       time.Second,
		AdminHost:     adminHost,
		SessionCookie: "picloud_session",
		Admin:         func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("admin api") },
		UI: func(ctx *fasthttp.RequestCtx) {
			if strings.HasSuffix(string(ctx.Path()), "/missing") {
				ctx.Error("no such file", fasthttp.StatusNotFound) // resets the response
				return
			}
			ctx.Response.Header.Set("Content-Security-Policy", "ui policy")
			ctx.SetBodyString("admin ui")
		},
	}, routerByApp{router}, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tbl, err := ingress.Build(ingress.TableSpec{
		Apps: []ingress.App{
			{ID: 1, Slug: "hello", Router: actor.NewPID("nonhost", "1")},
			{ID: 2, Slug: "admin", Router: actor.NewPID("nonhost", "2")},
			{ID: 3, Slug: "grabby", Router: actor.NewPID("nonhost", "3")},
		},
		Scripts:    map[int64]int64{7: 1},
		Claims:     []ingress.Claim{{Pattern: domain.MustParse(adminHost), AppID: 3}},
		BaseDomain: "test", DefaultApp: "hello",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.SetTable(tbl)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: s.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// hostGet sends GET path to base with the Host header host, following no
// redirect.
func hostGet(t *testing.T, base, host, path string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestAdminOrigin: the admin API, UI and execute answer on the admin host
// only, and nothing else answers there: not the default app, not the app
// whose {slug}.{base_domain} it is, not an app claiming it.
func TestAdminOrigin(t *testing.T) {
	base := startOrigin(t, nil, nil)
	tests := []struct {
		name, host, path string
		status           int
		want             string
	}{
		{"admin API", adminHost, "/api/v1/admin/apps", 200, "admin api"},
		{"admin API, host in other case with port", "ADMIN.Test:8080", "/api/v1/admin", 200, "admin api"},
		{"admin API, trailing dot", "admin.test.", "/api/v1/admin/apps", 200, "admin api"},
		{"UI", adminHost, "/admin/apps/x", 200, "admin ui"},
		{"execute", adminHost, "/api/v1/execute/7/sub", 200, "/sub"},
		{"execute unknown", adminHost, "/api/v1/execute/8", 404, `"code":"not_found"`},
		{"execute bad id", adminHost, "/api/v1/execute/x1", 400, `"field":"script_id"`},
		{"root goes to the UI", adminHost, "/", 302, "/admin/"},
		{"no app on the admin host", adminHost, "/greet", 404, "no app answers it"},
		{"no app on the admin host, path like a UI", adminHost, "/administrator", 404, "no app answers it"},
		{"no metrics on the admin host", adminHost, "/metrics", 404, "no app answers it"},
		{"healthz everywhere", adminHost, "/healthz", 200, "ok"},
		{"admin API elsewhere", "hello.test", "/api/v1/admin/apps", 404, "server.admin_host"},
		{"admin API on the default host", "127.0.0.1", "/api/v1/admin/auth/me", 404, "server.admin_host"},
		{"admin API on a look-alike host", "admin.test.evil.example", "/api/v1/admin/apps", 404, "server.admin_host"},
		{"UI elsewhere", "shop.test", "/admin/", 404, "server.admin_host"},
		{"UI root elsewhere", "shop.test", "/admin", 404, "server.admin_host"},
		{"execute elsewhere", "hello.test", "/api/v1/execute/7", 404, "server.admin_host"},
		{"metrics nowhere", "hello.test", "/metrics", 404, "server.metrics_listen"},
		{"default app elsewhere", "other.example", "/greet", 200, "/greet app=1"},
		{"slug app elsewhere", "grabby.test", "/x", 200, "/x app=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := hostGet(t, base, tt.host, tt.path)
			if res.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s: %d %s; want %d containing %q", tt.host, tt.path, res.StatusCode, body, tt.status, tt.want)
			}
			if tt.status == 302 && res.Header.Get("Location") != "/admin/" {
				t.Fatalf("Location = %q", res.Header.Get("Location"))
			}
		})
	}
}

// TestAdminHostHeaders: every answer on the admin host forbids framing,
// sniffing and cross-origin embedding; the UI brings its own policy.
func TestAdminHostHeaders(t *testing.T) {
	base := startOrigin(t, nil, nil)
	for _, path := range []string{"/api/v1/admin/apps", "/admin/", "/admin/_app/missing", "/nothing", "/"} {
		res, _ := hostGet(t, base, adminHost, path)
		want := map[string]string{
			"X-Content-Type-Options":       "nosniff",
			"X-Frame-Options":              "DENY",
			"Cross-Origin-Resource-Policy": "same-origin",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Referrer-Policy":              "same-origin",
			"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
		}
		if path == "/admin/" {
			want["Content-Security-Policy"] = "ui policy"
		}
		for k, v := range want {
			if got := res.Header.Get(k); !strings.Contains(got, v) {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

// TestScriptCannotSetSessionCookie: a script's Set-Cookie that a browser
// would store as the session cookie (any case, prefix, blank or nameless
// form) is dropped and the invocation log says so; other cookies pass.
func TestScriptCannotSetSessionCookie(t *testing.T) {
	tossed := []string{
		"picloud_session=evil; Path=/api/v1/admin; Max-Age=31536000",
		"picloud_session=evil; Domain=test; Path=/",
		"__Host-picloud_session=evil; Path=/; Secure",
		"__Secure-PICLOUD_SESSION=evil; Secure",
		" Picloud_Session =evil",
		"=picloud_session=evil; Domain=test",
		"picloud_session",
	}
	kept := []string{"theme=dark; Path=/", "picloud_session_note=1"}
	var headers []actors.Header
	for i, c := range append(slices.Clone(tossed), kept...) {
		name := "Set-Cookie"
		if i%2 == 1 {
			name = "set-cookie"
		}
		headers = append(headers, actors.Header{Name: name, Value: c})
	}
	rec := &memRecorder{}
	base := startOrigin(t, headers, rec)
	res, _ := hostGet(t, base, "shop.test", "/page")
	if got := res.Header.Values("Set-Cookie"); !slices.Equal(got, kept) {
		t.Fatalf("Set-Cookie = %q, want only %q", got, kept)
	}
	output := recordedOutput(t, rec, "/page")
	if !strings.HasPrefix(output, "ran\n") || !strings.Contains(output, "scripts may not set the admin session cookie") ||
		!strings.Contains(output, `"__Host-picloud_session"`) {
		t.Fatalf("invocation output = %q, want the script's own and a note naming the dropped cookies", output)
	}
}

// TestExecuteAnswerIsInert: what a script answers through execute, on
// the admin origin, sets no cookie at all and is sandboxed whatever
// headers the script chose.
func TestExecuteAnswerIsInert(t *testing.T) {
	headers := []actors.Header{
		{Name: "Content-Type", Value: "text/html"},
		{Name: "Set-Cookie", Value: "theme=dark; Path=/"},
		{Name: "Content-Security-Policy", Value: "script-src *"},
		{Name: "X-Frame-Options", Value: "ALLOWALL"},
		{Name: "X-Content-Type-Options", Value: "sniff"},
	}
	rec := &memRecorder{}
	base := startOrigin(t, headers, rec)
	res, body := hostGet(t, base, adminHost, "/api/v1/execute/7/page")
	if res.StatusCode != 200 || body != "/page app=1" {
		t.Fatalf("execute: %d %q", res.StatusCode, body)
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("Set-Cookie = %q, want none", got)
	}
	want := map[string]string{
		"Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := res.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if out := recordedOutput(t, rec, "/page"); !strings.Contains(out, `dropped Set-Cookie "theme"`) {
		t.Errorf("invocation output = %q, want a note on the dropped cookie", out)
	}
}

// recordedOutput returns the output recorded for the invocation of path
// (recorded before the answer is sent).
func recordedOutput(t *testing.T, rec *memRecorder, path string) string {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, inv := range rec.invs {
		if inv.Path == path {
			return inv.Output
		}
	}
	t.Fatalf("no invocation of %s recorded", path)
	return ""
}

// TestMetricsHandler: the metrics, served apart from the public
// listener, count script requests.
func TestMetricsHandler(t *testing.T) {
	s := ingress.New(ingress.Options{Timeout: time.Second}, scriptedRouter{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s.MetricsHandler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), "picloud_request_duration_seconds") {
		t.Fatalf("metrics: %d %s", res.StatusCode, b)
	}
}
