package admin

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// appOf loads the app named by the {app} path parameter.
func (a *API) appOf(ctx context.Context, rc *fasthttp.RequestCtx) (*models.App, error) {
	ref, _ := rc.UserValue("app").(string)
	return a.db.App(ctx, ref)
}
