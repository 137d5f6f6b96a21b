package cli

import (
	"context"
	"net/url"

	"github.com/picloud/picloud/internal/apiclient"
)

// site is what the CLI knows of where a server's apps answer.
type site struct {
	// base is the server's public base URL (or the URL the CLI talks to).
	base       *url.URL
	baseDomain string
	defaultApp string
}

// siteOf asks the server for its base domain and default app.
func siteOf(ctx context.Context, c *apiclient.Client) (*site, error) {
	cfg, err := c.Config(ctx)
	if err != nil {
		return nil, err
	}
	raw := c.BaseURL
	if cfg.Server.PublicBaseURL != "" {
		raw = cfg.Server.PublicBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return &site{base: u, baseDomain: cfg.Server.BaseDomain, defaultApp: cfg.Server.DefaultApp}, nil
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
