package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/domain"
	"github.com/picloud/picloud/models"
)

type createDomainInput struct {
	Pattern string `json:"pattern"`
}

// domainOverlap is another claim that matches some of the same hosts as
// a new one; precedence decides which serves them.
type domainOverlap struct {
	ID      int64  `json:"id"`
	Pattern string `json:"pattern"`
	AppID   int64  `json:"app_id"`
	// Serves is "this" when the new claim serves the shared hosts, else
	// "other".
	Serves string `json:"serves"`
}

// claimAnswer is what POST /apps/{app}/domains answers.
type claimAnswer struct {
	models.Domain
	Overlaps []domainOverlap `json:"overlaps"`
}

func (a *API) listDomains(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	domains, err := a.db.AppDomains(ctx, app.ID)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(domains))
	return nil
}

func (a *API) createDomain(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	var in createDomainInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	p, err := domain.Parse(in.Pattern)
	if err != nil {
		return invalid("pattern", "%v", err)
	}
	if err := a.checkBaseDomain(ctx, app, p); err != nil {
		return err
	}
	if a.adminHost != "" && p.Matches(a.adminHost) {
		return invalid("pattern", "domain %s covers %s, the admin host (server.admin_host), where no app may answer", p, a.adminHost)
	}
	d := &models.Domain{AppID: app.ID, Pattern: p.String(), Key: p.Key(), Kind: p.Kind().String()}
	if err := a.db.CreateDomain(ctx, d); err != nil {
		return err
	}
	overlaps, err := a.overlaps(ctx, d, p)
	if err != nil {
		return err
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusCreated, claimAnswer{Domain: *d, Overlaps: overlaps})
	return nil
}

// checkBaseDomain refuses claims on the hosts one label below the base
// domain: those are every app's own {slug}.{base_domain}, and a claim,
// tried first, would take them over.
func (a *API) checkBaseDomain(ctx context.Context, app *models.App, p domain.Pattern) error {
	base := strings.ToLower(strings.TrimSuffix(a.baseDomain, "."))
	if base == "" || !p.CoversChildOf(base) {
		return nil
	}
	if p.Kind() == domain.Exact {
		slug, _, _ := strings.Cut(p.String(), ".")
		owner, err := a.db.App(ctx, slug)
		switch {
		case err == nil && owner.ID != app.ID:
			return fmt.Errorf("%w: domain %s is the host of app %q", models.ErrConflict, p, owner.Slug)
		case err != nil && !errors.Is(err, models.ErrNotFound):
			// Not knowing the owner must not pass for "no owner".
			return fmt.Errorf("check domain %s against the app hosts: %w", p, err)
		}
	}
	return invalid("pattern", "domain %s: the hosts {slug}.%s are reserved for the apps themselves (this app already answers on %s.%s)",
		p, base, app.Slug, base)
}

// overlaps lists the other claims that share hosts with the new claim d.
func (a *API) overlaps(ctx context.Context, d *models.Domain, p domain.Pattern) ([]domainOverlap, error) {
	all, err := a.db.AllDomains(ctx)
	if err != nil {
		return nil, err
	}
	out := []domainOverlap{}
	for _, other := range all {
		q, err := domain.Parse(other.Pattern)
		if err != nil || other.ID == d.ID || !p.Overlaps(q) {
			continue
		}
		serves := "other"
		if p.Precedes(q) {
			serves = "this"
		}
		out = append(out, domainOverlap{ID: other.ID, Pattern: other.Pattern, AppID: other.AppID, Serves: serves})
	}
	return out, nil
}

func (a *API) deleteDomain(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	if _, err := a.db.DeleteDomain(ctx, app.ID, id); err != nil {
		return err
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
