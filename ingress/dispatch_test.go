package ingress_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/domain"
	"github.com/picloud/picloud/ingress"
)

// TestDispatchByHost checks that every request reaches the router of the
// app its host resolves to, with what its claim captured, and that
// per-app limits and slug redirects are applied.
func TestDispatchByHost(t *testing.T) {
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		body := inv.Request.Host + " tenant=" + inv.Request.DomainParams["tenant"]
		return actors.Result{Status: 200, Body: []byte(body)}, true
	}}
	s := ingress.New(ingress.Options{Timeout: time.Second}, routerByApp{router}, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	apps := []ingress.App{
		{ID: 1, Slug: "hello", Router: actor.NewPID("nonhost", "1")},
		{ID: 2, Slug: "shop", Router: actor.NewPID("nonhost", "2"), MaxRequestBody: 10},
	}
	tbl, err := ingress.Build(ingress.TableSpec{
		Apps: apps, BaseDomain: "localhost", DefaultApp: "hello",
		Claims:    []ingress.Claim{{Pattern: domain.MustParse("{tenant}.shop.test"), AppID: 2}},
		Redirects: map[string]int64{"store": 2},
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
	base := "http://" + ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port

	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, host, path, body string
		status                 int
		want                   string
		location               string
	}{
		{"param claim", "acme.shop.test", "/", "", 200, "acme.shop.test tenant=acme app=2", ""},
		{"implicit slug", "shop.localhost", "/", "", 200, "tenant= app=2", ""},
		{"default app", "other.test", "/", "", 200, "app=1", ""},
		{"body within limit", "shop.localhost", "/", "0123456789", 200, "app=2", ""},
		{"body over app limit", "shop.localhost", "/", "0123456789a", 413, `"code":"body_too_large"`, ""},
		{"same body on another app", "hello.localhost", "/", "0123456789a", 200, "app=1", ""},
		{"former slug", "store.localhost:" + strconv.Itoa(port), "/a/b?x=1&y=2", "", 308, "shop.localhost",
			"http://shop.localhost:" + strconv.Itoa(port) + "/a/b?x=1&y=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "POST", base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			res, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Fatalf("%s %s: %d %s; want %d containing %q", tt.host, tt.path, res.StatusCode, b, tt.status, tt.want)
			}
			if got := res.Header.Get("Location"); got != tt.location {
				t.Fatalf("Location = %q, want %q", got, tt.location)
			}
		})
	}
}

// routerByApp tags every answer with the app whose router got the Invoke.
type routerByApp struct{ next scriptedRouter }

func (r routerByApp) Send(pid *actor.PID, msg any) {
	inv := msg.(*actors.Invoke)
	res, ok := r.next.answer(inv)
	if !ok {
		return
	}
	if res.Status == 200 {
		res.Body = append(res.Body, " app="+pid.Id...)
	}
	inv.Reply.Send(res)
}
