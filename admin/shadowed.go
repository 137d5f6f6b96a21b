package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/picloud/picloud/models"
)

// An app may hold the slug that makes {slug}.{base_domain} the admin
// host: it was created before the admin host existed (or before
// server.admin_host named it). Ingress serves the admin host before it
// looks for an app, so such an app silently loses that host. The server
// says so when it starts, and the app's own answer says so.

// shadowedWarning explains to the admin what happened to app, whose slug
// is a.reservedSlug, and what to do.
func (a *API) shadowedWarning(app *models.App) string {
	return fmt.Sprintf("app %q has the slug %q, but %s is the admin host (server.admin_host): "+
		"the app does not answer there; rename it (PATCH %s/apps/%d with a new \"slug\") "+
		"or choose another server.admin_host", app.Name, app.Slug, a.adminHost, Prefix, app.ID)
}

// WarnShadowedApp logs a warning when an app holds the slug whose host
// is the admin host. RunJanitor calls it once at start.
func (a *API) WarnShadowedApp(ctx context.Context) {
	if a.reservedSlug == "" {
		return
	}
	app, err := a.db.App(ctx, a.reservedSlug)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return
	case err != nil:
		if ctx.Err() == nil {
			a.logger.Warn("look for an app on the admin host", slog.Any("err", err))
		}
		return
	}
	a.logger.Warn(a.shadowedWarning(app), slog.String("app", app.Slug), slog.Int64("app_id", app.ID))
}

// appView is an app as GET /apps/{app} answers it: with a warning when
// the app has lost its host to the admin host.
type appView struct {
	*models.App
	Warnings []string `json:"warnings,omitempty"`
}

func (a *API) viewApp(app *models.App) appView {
	v := appView{App: app}
	if a.reservedSlug != "" && app.Slug == a.reservedSlug {
		v.Warnings = append(v.Warnings, a.shadowedWarning(app))
	}
	return v
}
