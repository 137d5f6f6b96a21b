package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/route"
)

type createRouteInput struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// decodeRoute reads a route (method and path) from the request body and
// validates it; the method comes back in its canonical form.
func decodeRoute(ctx *fasthttp.RequestCtx) (createRouteInput, error) {
	var in createRouteInput
	if err := decode(ctx, &in); err != nil {
		return in, err
	}
	method, err := route.ValidateMethod(in.Method)
	if err != nil {
		return in, invalid("method", "%v", err)
	}
	if err := route.ValidatePath(in.Path); err != nil {
		return in, invalid("path", "%v", err)
	}
	in.Method = method
	return in, nil
}

func (a *API) listRoutes(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	routes, err := a.db.ScriptRoutes(detach(ctx), script.ID)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(routes))
}

// listAppRoutes lists every route of an app, whichever script it binds.
func (a *API) listAppRoutes(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(detach(ctx), ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	routes, err := a.db.AppRoutes(detach(ctx), app.ID)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(routes))
}

func (a *API) createRoute(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	in, err := decodeRoute(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	// The database refuses a conflicting route (the same method and path
	// shape), however many API processes write at once: ErrConflict, 409.
	r := &models.Route{AppID: script.AppID, ScriptID: script.ID, Method: in.Method, Path: in.Path}
	if err := a.db.CreateRoute(detach(ctx), r); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(detach(ctx), script.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusCreated, r)
}

func (a *API) deleteRoute(ctx *fasthttp.RequestCtx) {
	id, err := idParam(ctx, "id")
	if err != nil {
		a.fail(ctx, err)
		return
	}
	r, err := a.db.DeleteRoute(detach(ctx), id)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(detach(ctx), r.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
