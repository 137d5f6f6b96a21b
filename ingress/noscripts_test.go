package ingress_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
)

// TestNoScriptsRefusesScriptTraffic: a node that runs no script for
// callers answers app hosts and /api/v1/execute 421 no_ingress_role with
// its reason, never reaching a router, while /healthz, /version and the
// admin API serve as ever.
func TestNoScriptsRefusesScriptTraffic(t *testing.T) {
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		t.Errorf("a router was sent %s %s", inv.Request.Method, inv.Request.Path)
		return actors.Result{Status: 200}, true
	}}
	s := ingress.New(ingress.Options{Version: "test", Timeout: time.Second, AdminHost: adminHost,
		NoScripts: "node e1 has no ingress role (cluster.roles)",
		Admin:     func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("admin") }},
		router, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.SetTable(ingress.NewTable([]ingress.App{{ID: 1, Slug: "hello", Router: actor.NewPID("nonhost", "app-1")}}, map[int64]int64{7: 1}, "hello"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: s.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	base := "http://" + ln.Addr().String()

	for _, tc := range []struct {
		host, path string
		status     int
		want       string
	}{
		{"hello.localhost", "/", 421, `"code":"no_ingress_role","message":"node e1 has no ingress role (cluster.roles)"`},
		{"other.example", "/anything", 421, `"code":"no_ingress_role"`},
		{adminHost, "/api/v1/execute/7", 421, `"code":"no_ingress_role"`},
		{"hello.localhost", "/healthz", 200, "ok"},
		{"hello.localhost", "/version", 200, `"version":"test"`},
		{adminHost, "/api/v1/admin/apps", 200, "admin"},
	} {
		req, err := http.NewRequest("GET", base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s%s = %d %s, want %d with %s", tc.host, tc.path, res.StatusCode, b, tc.status, tc.want)
		}
	}
}
