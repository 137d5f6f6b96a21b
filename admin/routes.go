package admin

import (
	"errors"
	"fmt"

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
	app, err := a.appParam(ctx)
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
	method := in.Method

	a.routeWrites.Lock()
	defer a.routeWrites.Unlock()
	if err := a.checkConflict(ctx, script.AppID, method, in.Path); err != nil {
		a.fail(ctx, err)
		return
	}
	r := &models.Route{AppID: script.AppID, ScriptID: script.ID, Method: method, Path: in.Path}
	if err := a.db.CreateRoute(detach(ctx), r); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(ctx, script.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusCreated, r)
}

// checkConflict refuses a route that the app's trie would not accept
// beside the routes it already has. Conflicts are strictly intra-app.
func (a *API) checkConflict(ctx *fasthttp.RequestCtx, appID int64, method, path string) error {
	existing, err := a.db.AppRoutes(detach(ctx), appID)
	if err != nil {
		return fmt.Errorf("load routes of app %d: %w", appID, err)
	}
	trie := route.NewTrie()
	for _, r := range existing {
		// Stored routes were accepted one by one; a failure here would
		// only repeat an old conflict, which the new route cannot fix.
		_ = trie.Add(route.Route{ID: r.ID, Method: r.Method, Path: r.Path, ScriptID: r.ScriptID})
	}
	err = trie.Add(route.Route{Method: method, Path: path})
	var ce *route.ConflictError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %s", models.ErrConflict, ce.Error())
	}
	if err != nil {
		return invalid("path", "%v", err)
	}
	return nil
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
	if err := a.deployed(ctx, r.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
