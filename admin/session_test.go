package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestSessionCookie(t *testing.T) {
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		secure  bool
		token   string
		expires time.Time
		want    []string
		notWant []string
	}{
		{"http", false, "tok", expires, []string{"picloud_session=tok", "HttpOnly", "SameSite=Strict", "path=/;", "expires=Tue, 01 Jan 2030"}, []string{"secure", "domain"}},
		{"https", true, "tok", expires, []string{"__Host-picloud_session=tok", "secure", "HttpOnly", "SameSite=Strict", "path=/;"}, []string{"domain"}},
		{"cleared", false, "", time.Time{}, []string{"picloud_session=;", "max-age=0", "path=/;"}, nil},
		{"cleared, https", true, "", time.Time{}, []string{"__Host-picloud_session=;", "max-age=0", "secure"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			name := SessionCookie
			if tt.secure {
				name = SecureSessionCookie
			}
			(&API{secureCookie: tt.secure}).setCookie(&ctx, tt.token, tt.expires)
			got := string(ctx.Response.Header.PeekCookie(name))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("cookie %q lacks %q", got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
					t.Errorf("cookie %q has %q", got, w)
				}
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		name, host, origin, referer string
		want                        bool
	}{
		{"origin matches", "pi.example:8080", "http://pi.example:8080", "", true},
		{"https origin matches", "pi.example", "https://PI.example", "", true},
		{"referer matches", "pi.example", "", "https://pi.example/admin/apps", true},
		{"other host", "pi.example", "https://evil.example", "", false},
		{"other port", "pi.example:8080", "http://pi.example:9090", "", false},
		{"suffix trick", "pi.example", "https://pi.example.evil.example", "", false},
		{"userinfo trick", "pi.example", "https://pi.example@evil.example", "", false},
		{"null origin", "pi.example", "null", "", false},
		{"origin wins over referer", "pi.example", "https://evil.example", "https://pi.example/", false},
		{"neither", "pi.example", "", "", false},
		{"not http", "pi.example", "file://pi.example", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetHost(tt.host)
			if tt.origin != "" {
				ctx.Request.Header.Set("Origin", tt.origin)
			}
			if tt.referer != "" {
				ctx.Request.Header.Set("Referer", tt.referer)
			}
			if got := sameOrigin(&ctx); got != tt.want {
				t.Fatalf("sameOrigin = %v, want %v", got, tt.want)
			}
		})
	}
}
