package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/route"
)

// routeCheck is what POST /apps/{app}/routes/check answers.
type routeCheck struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// OK is true when the route could be added (no conflicts).
	OK         bool           `json:"ok"`
	Conflicts  []models.Route `json:"conflicts"`
	Shadows    []models.Route `json:"shadows"`
	ShadowedBy []models.Route `json:"shadowed_by"`
}

// routeMatch is what POST /apps/{app}/routes/match answers.
type routeMatch struct {
	Route  models.Route      `json:"route"`
	Script scriptRef         `json:"script"`
	Params map[string]string `json:"params"`
}

type scriptRef struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	LiveVersion int64  `json:"live_version"`
}

// appTrie loads an app's routes into a trie, with the stored routes by id.
func (a *API) appTrie(ctx context.Context, appID int64) (*route.Trie, map[int64]models.Route, error) {
	routes, err := a.db.AppRoutes(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	trie := route.NewTrie()
	byID := make(map[int64]models.Route, len(routes))
	for _, r := range routes {
		byID[r.ID] = r
		// The database holds no conflicting routes (a unique shape key),
		// so Add cannot fail on a stored route.
		_ = trie.Add(route.Route{ID: r.ID, Method: r.Method, Path: r.Path, ScriptID: r.ScriptID})
	}
	return trie, byID, nil
}

func stored(rs []route.Route, byID map[int64]models.Route) []models.Route {
	out := make([]models.Route, 0, len(rs))
	for _, r := range rs {
		out = append(out, byID[r.ID])
	}
	return out
}

func (a *API) checkRoute(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	in, err := decodeRoute(rc)
	if err != nil {
		return err
	}
	method := in.Method
	trie, byID, err := a.appTrie(ctx, app.ID)
	if err != nil {
		return err
	}
	shadows, shadowedBy, err := trie.Overlaps(method, in.Path)
	if err != nil {
		return invalid("path", "%v", err)
	}
	conflicts := stored(trie.Conflicts(method, in.Path), byID)
	a.reply(rc, fasthttp.StatusOK, routeCheck{
		Method: method, Path: in.Path, OK: len(conflicts) == 0, Conflicts: conflicts,
		Shadows: stored(shadows, byID), ShadowedBy: stored(shadowedBy, byID),
	})
	return nil
}

func (a *API) matchRoute(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	var in createRouteInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	method, err := route.ValidateMethod(in.Method)
	if err != nil || method == route.MethodAny {
		return invalid("method", "must be the method of a request (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), got %q", in.Method)
	}
	path, _, _ := strings.Cut(in.Path, "?")
	if !strings.HasPrefix(path, "/") {
		return invalid("path", "must be a request path starting with \"/\", got %q", in.Path)
	}
	trie, byID, err := a.appTrie(ctx, app.ID)
	if err != nil {
		return err
	}
	rt, params, ok := trie.Match(method, path)
	if !ok {
		return fmt.Errorf("%w: no route of app %q matches %s %s", models.ErrNotFound, app.Slug, method, path)
	}
	script, err := a.db.Script(ctx, rt.ScriptID)
	if err != nil {
		return err
	}
	out := routeMatch{Route: byID[rt.ID], Params: map[string]string{},
		Script: scriptRef{ID: script.ID, Name: script.Name, LiveVersion: script.LiveVersion}}
	for _, p := range params {
		out.Params[p.Key] = p.Value
	}
	a.reply(rc, fasthttp.StatusOK, out)
	return nil
}
