package cli

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/picloud/picloud/internal/apiclient"
)

// site is what the CLI knows of where a server's apps answer.
type site struct {
	// base is the server's public base URL (or the URL the CLI talks to).
	base       *url.URL
	baseDomain string
	defaultApp string
}

// siteOf asks the server for its base domain and default app. Apps do
// not answer on the admin host the CLI talks to: without a public base
// URL, the base is the CLI's URL with the admin host replaced by the
// base domain (http://admin.localhost:8080 -> http://localhost:8080).
func siteOf(ctx context.Context, c *apiclient.Client) (*site, error) {
	cfg, err := c.Config(ctx)
	if err != nil {
		return nil, err
	}
	return siteFrom(c.BaseURL, cfg)
}

// siteFrom is siteOf for a server at baseURL with cfg.
func siteFrom(baseURL string, cfg *apiclient.ServerConfig) (*site, error) {
	srv := cfg.Server
	raw := baseURL
	if srv.PublicBaseURL != "" {
		raw = srv.PublicBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	if srv.PublicBaseURL == "" && srv.BaseDomain != "" {
		// server.admin_host's default, as config.Server.AdminHostname.
		adminHost := cmp.Or(srv.AdminHost, "admin."+srv.BaseDomain)
		if strings.EqualFold(u.Hostname(), adminHost) {
			host := srv.BaseDomain
			if port := u.Port(); port != "" {
				host = net.JoinHostPort(host, port)
			}
			u.Host = host
		}
	}
	return &site{base: u, baseDomain: srv.BaseDomain, defaultApp: srv.DefaultApp}, nil
}

// appURL is the main URL an app answers on: the server's own for the
// default app, else {slug}.{base_domain} on the server's port, else "".
func (s *site) appURL(slug string) string {
	if s == nil {
		return ""
	}
	if slug == s.defaultApp {
		return s.base.String()
	}
	if s.baseDomain == "" {
		return ""
	}
	u := *s.base
	u.Host = slug + "." + s.baseDomain
	if port := s.base.Port(); port != "" {
		u.Host += ":" + port
	}
	return u.String()
}

// routeURL is the URL of a route's path on an app; "" when the app has
// no URL the CLI knows.
func (s *site) routeURL(slug, path string) string {
	base := s.appURL(slug)
	if base == "" {
		return ""
	}
	return base + path
}
