package config

import (
	"net"
	"strings"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		env     map[string]string
		trusted []string // addresses Proxies must contain
		not     []string
		err     string
	}{
		{name: "default: none", not: []string{"127.0.0.1"}},
		{name: "file", src: "server {\n  trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n}\n",
			trusted: []string{"127.0.0.1", "10.9.9.9"}, not: []string{"127.0.0.2"}},
		{name: "env over file", src: "server {\n  trusted_proxies = [\"10.0.0.0/8\"]\n}\n",
			env: map[string]string{EnvTrustedProxies: "127.0.0.0/30, ::1"}, trusted: []string{"127.0.0.3", "::1"}, not: []string{"10.0.0.1"}},
		{name: "bad item", env: map[string]string{EnvTrustedProxies: "127.0.0.1,proxy.local"},
			err: "trusted_proxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadSource(t, tt.src, tt.env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "proxy.local") {
					t.Fatalf("Load = %v, want an error naming %s and the bad item", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := c.Server.Proxies()
			for _, a := range tt.trusted {
				if !p.Contains(net.ParseIP(a)) {
					t.Errorf("%s not trusted (%v)", a, c.Server.TrustedProxies)
				}
			}
			for _, a := range tt.not {
				if p.Contains(net.ParseIP(a)) {
					t.Errorf("%s trusted (%v)", a, c.Server.TrustedProxies)
				}
			}
		})
	}
}
