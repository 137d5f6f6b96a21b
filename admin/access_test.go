package admin_test

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/admin"
)

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:5000", true},
		{"[::1]:5000", true},
		{"10.0.0.7:5000", false},
		{"203.0.113.9:5000", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&fasthttp.Request{}, addr, nil)
			if got := admin.LoopbackOnly(&ctx); got != tt.ok {
				t.Fatalf("LoopbackOnly = %v, want %v", got, tt.ok)
			}
			if !tt.ok && ctx.Response.StatusCode() != fasthttp.StatusForbidden {
				t.Fatalf("status %d, want 403", ctx.Response.StatusCode())
			}
		})
	}
}
