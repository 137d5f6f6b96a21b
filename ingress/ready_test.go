package ingress_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/ingress"
)

func TestReadyz(t *testing.T) {
	tests := []struct {
		name   string
		ready  ingress.ReadyFunc
		status int
		want   map[string]string
	}{
		{"no checks", nil, 200, map[string]string{}},
		{"all pass", func(context.Context) map[string]error {
			return map[string]error{"database": nil, "workers": nil}
		}, 200, map[string]string{"database": "ok", "workers": "ok"}},
		{"one fails", func(context.Context) map[string]error {
			return map[string]error{"database": errors.New("connection refused"), "workers": nil}
		}, 503, map[string]string{"database": "connection refused", "workers": "ok"}},
		{"checks run under a deadline", func(ctx context.Context) map[string]error {
			if _, ok := ctx.Deadline(); !ok {
				return map[string]error{"deadline": errors.New("none")}
			}
			return map[string]error{"deadline": nil}
		}, 200, map[string]string{"deadline": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ingress.New(ingress.Options{Ready: tt.ready}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/readyz")
			s.Handler(&ctx)
			if got := ctx.Response.StatusCode(); got != tt.status {
				t.Fatalf("status %d, want %d: %s", got, tt.status, ctx.Response.Body())
			}
			var body struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
				t.Fatal(err)
			}
			wantStatus := "ready"
			if tt.status != 200 {
				wantStatus = "not ready"
			}
			if body.Status != wantStatus || len(body.Checks) != len(tt.want) {
				t.Fatalf("body %+v, want %s with %v", body, wantStatus, tt.want)
			}
			for k, v := range tt.want {
				if body.Checks[k] != v {
					t.Errorf("check %s = %q, want %q", k, body.Checks[k], v)
				}
			}
		})
	}
}

// TestProbesAndOpenAPIHosts: /healthz and /readyz answer on every host
// (probes do not know the admin host); the OpenAPI document answers only
// on the admin host, beside the API it describes.
func TestProbesAndOpenAPIHosts(t *testing.T) {
	doc := []byte(`{"openapi":"3.1.0"}`)
	s := ingress.New(ingress.Options{
		AdminHost: "admin.example.test",
		Ready:     func(context.Context) map[string]error { return map[string]error{"database": nil} },
		OpenAPI:   func(ctx *fasthttp.RequestCtx) { ctx.SetBody(doc) },
	}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tests := []struct {
		host, path string
		status     int
		body       string
	}{
		{"admin.example.test", "/api/v1/openapi.json", 200, string(doc)},
		{"ADMIN.example.test:8080", "/api/v1/openapi.json", 200, string(doc)},
		{"app.example.test", "/api/v1/openapi.json", 404, "admin host"},
		{"admin.example.test", "/readyz", 200, `"status":"ready"`},
		{"app.example.test", "/readyz", 200, `"status":"ready"`},
		{"admin.example.test", "/healthz", 200, "ok"},
		{"app.example.test", "/healthz", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI(tt.path)
			ctx.Request.Header.SetHost(tt.host)
			s.Handler(&ctx)
			if got := ctx.Response.StatusCode(); got != tt.status || !strings.Contains(string(ctx.Response.Body()), tt.body) {
				t.Errorf("%d %s, want %d with %q", got, ctx.Response.Body(), tt.status, tt.body)
			}
		})
	}
}
