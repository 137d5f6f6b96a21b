package admin

import (
	"context"

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

func (a *API) listRoutes(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	routes, err := a.db.ScriptRoutes(ctx, script.ID)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(routes))
	return nil
}

// listAppRoutes lists every route of an app, whichever script it binds.
func (a *API) listAppRoutes(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	routes, err := a.db.AppRoutes(ctx, app.ID)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(routes))
	return nil
}

func (a *API) createRoute(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	in, err := decodeRoute(rc)
	if err != nil {
		return err
	}
	// The database refuses a conflicting route (the same method and path
	// shape), however many API processes write at once: ErrConflict, 409.
	r := &models.Route{AppID: script.AppID, ScriptID: script.ID, Method: in.Method, Path: in.Path}
	if err := a.db.CreateRoute(ctx, r); err != nil {
		return err
	}
	if err := a.deployed(ctx, script.AppID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusCreated, r)
	return nil
}

func (a *API) deleteRoute(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	r, err := a.db.DeleteRoute(ctx, id)
	if err != nil {
		return err
	}
	if err := a.deployed(ctx, r.AppID); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
