package config

import (
	"strings"
	"testing"
)

func TestAdminHostname(t *testing.T) {
	tests := []struct {
		admin, base, public, wantHost, wantURL string
	}{
		{"", "localhost", "http://127.0.0.1:8080", "admin.localhost", "http://admin.localhost:8080"},
		{"", "apps.example.com", "https://apps.example.com", "admin.apps.example.com", "https://admin.apps.example.com"},
		{"pi.example.com", "apps.example.com", "https://apps.example.com/pi", "pi.example.com", "https://pi.example.com"},
		{"10.0.0.1", "localhost", "http://127.0.0.1:80", "10.0.0.1", "http://10.0.0.1:80"},
		{"::1", "localhost", "http://[::1]:8080", "::1", "http://[::1]:8080"},
		{"::1", "localhost", "https://example.com", "::1", "https://[::1]"},
	}
	for _, tc := range tests {
		s := Server{AdminHost: tc.admin, BaseDomain: tc.base}
		if got := s.AdminHostname(); got != tc.wantHost {
			t.Errorf("AdminHostname(admin_host %q, base_domain %q) = %q, want %q", tc.admin, tc.base, got, tc.wantHost)
		}
		if got := s.AdminURL(tc.public); got != tc.wantURL {
			t.Errorf("AdminURL(admin_host %q, public %q) = %q, want %q", tc.admin, tc.public, got, tc.wantURL)
		}
	}
}

func TestAdminHostAndMetricsListenErrors(t *testing.T) {
	tests := []struct {
		env, value, want string
	}{
		{EnvAdminHost, "admin.localhost:8080", `server.admin_host: "admin.localhost:8080" is neither a bare lower-case host name`},
		{EnvAdminHost, "https://admin.example.com", `server.admin_host: "https://admin.example.com" is neither`},
		{EnvAdminHost, "Admin.Example.com", `is neither a bare lower-case host name`},
		{EnvAdminHost, "[::1]", `is neither`},
		{EnvMetricsListen, "9464", `PICLOUD_METRICS_LISTEN: server.metrics_listen: "9464" is not host:port`},
	}
	for _, tc := range tests {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			_, err := Load("", mapEnv(map[string]string{tc.env: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
