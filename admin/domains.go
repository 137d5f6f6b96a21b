package admin

import (
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

func (a *API) listDomains(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	domains, err := a.db.AppDomains(detach(ctx), app.ID)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(domains))
}

func (a *API) createDomain(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in createDomainInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	p, err := domain.Parse(in.Pattern)
	if err != nil {
		a.fail(ctx, invalid("pattern", "%v", err))
		return
	}
	if err := a.checkBaseDomain(ctx, app, p); err != nil {
		a.fail(ctx, err)
		return
	}
	if a.adminHost != "" && p.Matches(a.adminHost) {
		a.fail(ctx, invalid("pattern", "domain %s covers %s, the admin host (server.admin_host), where no app may answer", p, a.adminHost))
		return
	}
	d := &models.Domain{AppID: app.ID, Pattern: p.String(), Key: p.Key(), Kind: p.Kind().String()}
	if err := a.db.CreateDomain(detach(ctx), d); err != nil {
		a.fail(ctx, err)
		return
	}
	overlaps, err := a.overlaps(ctx, d, p)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusCreated, claimAnswer{Domain: *d, Overlaps: overlaps})
}

// checkBaseDomain refuses claims on the hosts one label below the base
// domain: those are every app's own {slug}.{base_domain}, and a claim,
// tried first, would take them over.
func (a *API) checkBaseDomain(ctx *fasthttp.RequestCtx, app *models.App, p domain.Pattern) error {
	base := strings.ToLower(strings.TrimSuffix(a.baseDomain, "."))
	if base == "" || !p.CoversChildOf(base) {
		return nil
	}
	if p.Kind() == domain.Exact {
		slug, _, _ := strings.Cut(p.String(), ".")
		if owner, err := a.db.App(detach(ctx), slug); err == nil && owner.ID != app.ID {
			return fmt.Errorf("%w: domain %s is the host of app %q", models.ErrConflict, p, owner.Slug)
		}
	}
	return invalid("pattern", "domain %s: the hosts {slug}.%s are reserved for the apps themselves (this app already answers on %s.%s)",
		p, base, app.Slug, base)
}

// overlaps lists the other claims that share hosts with the new claim d.
func (a *API) overlaps(ctx *fasthttp.RequestCtx, d *models.Domain, p domain.Pattern) ([]domainOverlap, error) {
	all, err := a.db.AllDomains(detach(ctx))
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

func (a *API) deleteDomain(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	id, err := idParam(ctx, "id")
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if _, err := a.db.DeleteDomain(detach(ctx), app.ID, id); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		a.fail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
