package ingress

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/domain"
)

// App is one app as the data plane sees it: where its router lives and
// the limits ingress enforces for it.
type App struct {
	ID     int64
	Slug   string
	Router *actor.PID
	// MaxRequestBody bounds the body of the app's requests, in bytes; 0
	// leaves only the server's own limit. (Responses are bounded where
	// the script runs, by its limits: see actors.Limits.MaxResponseBody.)
	MaxRequestBody int64
	// Wait is how long ingress waits for a script's answer; 0 means the
	// server's Timeout.
	Wait time.Duration
	// PublicErrors, when set, replaces Options.PublicErrors for the app.
	PublicErrors *bool
}

// Claim is one domain claim of an app.
type Claim struct {
	Pattern domain.Pattern
	AppID   int64
}

// TableSpec is what a Table is built from.
type TableSpec struct {
	Apps []App
	// Scripts maps every script id to its app id.
	Scripts map[int64]int64
	Claims  []Claim
	// Redirects maps a former slug to the app that had it.
	Redirects map[string]int64
	// BaseDomain makes every app answer on {slug}.{BaseDomain}; "" turns
	// that off.
	BaseDomain string
	// DefaultApp is the slug (or a former slug) of the app that serves
	// every other host; "" or an unknown slug means those hosts get 404.
	DefaultApp string
}

// Table is an immutable snapshot of the apps ingress can dispatch to and
// of the hosts they answer on. The control plane builds a new one on
// every change and swaps it in; the hot path reads it without locks.
type Table struct {
	defaultApp *App
	claims     *domain.Matcher[*App]
	bySlug     map[string]*App
	redirects  map[string]slugRedirect
	byScript   map[int64]*App
	// baseSuffix is "." + the base domain, or "".
	baseSuffix string
}

// slugRedirect is a former slug: the app that had it and the host of
// its current slug.
type slugRedirect struct {
	app  *App
	host string
}

// Resolution is where a request's host goes.
type Resolution struct {
	// App serves the host; nil when no app does.
	App *App
	// DomainParams are what a parameterized claim captured.
	DomainParams map[string]string
	// Redirect, when not "", is the host to redirect to: the host named
	// a former slug of App.
	Redirect string
}

// Build builds a snapshot. Claims whose app is missing, or which collide
// with an earlier claim (which the control plane does not let happen),
// are left out and reported in the error; the Table is usable either way.
func Build(spec TableSpec) (*Table, error) {
	t := &Table{
		claims:    domain.NewMatcher[*App](),
		bySlug:    make(map[string]*App, len(spec.Apps)),
		redirects: make(map[string]slugRedirect, len(spec.Redirects)),
		byScript:  make(map[int64]*App, len(spec.Scripts)),
	}
	if spec.BaseDomain != "" {
		t.baseSuffix = "." + strings.ToLower(strings.TrimSuffix(spec.BaseDomain, "."))
	}
	byID := make(map[int64]*App, len(spec.Apps))
	for i := range spec.Apps {
		a := spec.Apps[i]
		byID[a.ID] = &a
		t.bySlug[a.Slug] = &a
	}
	for scriptID, appID := range spec.Scripts {
		if a, ok := byID[appID]; ok {
			t.byScript[scriptID] = a
		}
	}
	for slug, appID := range spec.Redirects {
		if a, ok := byID[appID]; ok && t.baseSuffix != "" {
			t.redirects[slug] = slugRedirect{app: a, host: a.Slug + t.baseSuffix}
		}
	}
	var errs []error
	for _, c := range spec.Claims {
		a, ok := byID[c.AppID]
		if !ok {
			errs = append(errs, fmt.Errorf("claim %s: no app %d", c.Pattern, c.AppID))
			continue
		}
		if err := t.claims.Add(c.Pattern, a); err != nil {
			errs = append(errs, fmt.Errorf("claim %s of app %q: %w", c.Pattern, a.Slug, err))
		}
	}
	t.defaultApp = t.bySlug[spec.DefaultApp]
	if t.defaultApp == nil {
		// The default app was renamed: its old slug still names it.
		t.defaultApp = byID[spec.Redirects[spec.DefaultApp]]
	}
	return t, errors.Join(errs...)
}

// NewTable builds a snapshot without domain claims, redirects or a base
// domain: every host goes to the app defaultSlug names.
func NewTable(apps []App, scripts map[int64]int64, defaultSlug string) *Table {
	t, _ := Build(TableSpec{Apps: apps, Scripts: scripts, DefaultApp: defaultSlug})
	return t
}

// Resolve finds the app that serves host, a raw Host header: an exact
// claim, then a parameterized one, then a wildcard, most specific first
// (see package domain); then {slug}.{base domain}, or a redirect for a
// former slug; then the default app. It allocates only for the
// parameters a parameterized claim captures.
func (t *Table) Resolve(host []byte) Resolution {
	var buf [domain.MaxLength]byte
	h, ok := domain.AppendHost(buf[:0], host)
	if !ok {
		return Resolution{App: t.defaultApp}
	}
	if a, params, ok := t.claims.Match(h); ok {
		return Resolution{App: a, DomainParams: params}
	}
	if n := len(h) - len(t.baseSuffix); t.baseSuffix != "" && n > 0 && string(h[n:]) == t.baseSuffix {
		if a := t.bySlug[string(h[:n])]; a != nil {
			return Resolution{App: a}
		}
		if r, ok := t.redirects[string(h[:n])]; ok {
			return Resolution{App: r.app, Redirect: r.host}
		}
	}
	return Resolution{App: t.defaultApp}
}

// ForScript returns the app that owns the script, or nil.
func (t *Table) ForScript(scriptID int64) *App {
	return t.byScript[scriptID]
}
