package cli

import (
	"testing"

	"github.com/picloud/picloud/internal/apiclient"
)

// TestSiteAppURLs: apps answer on the base domain, never on the admin
// host the CLI talks to.
func TestSiteAppURLs(t *testing.T) {
	tests := []struct {
		name, base, adminHost, publicBase string
		wantDefault, wantShop             string
	}{
		{"default admin host", "http://admin.localhost:8080", "", "",
			"http://localhost:8080", "http://shop.localhost:8080"},
		{"configured admin host", "https://ops.example.com", "ops.example.com", "",
			"https://example.com", "https://shop.example.com"},
		{"public base url wins", "http://admin.localhost:8080", "", "https://apps.example.com",
			"https://apps.example.com", "https://shop.localhost"},
		{"not the admin host", "http://127.0.0.1:8080", "", "",
			"http://127.0.0.1:8080", "http://shop.localhost:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg apiclient.ServerConfig
			cfg.Server.AdminHost, cfg.Server.PublicBaseURL = tt.adminHost, tt.publicBase
			cfg.Server.BaseDomain, cfg.Server.DefaultApp = "localhost", "hello"
			if tt.adminHost == "ops.example.com" {
				cfg.Server.BaseDomain = "example.com"
			}
			s, err := siteFrom(tt.base, &cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.appURL("hello"); got != tt.wantDefault {
				t.Errorf("default app at %q, want %q", got, tt.wantDefault)
			}
			if got := s.appURL("shop"); got != tt.wantShop {
				t.Errorf("shop at %q, want %q", got, tt.wantShop)
			}
		})
	}
}
