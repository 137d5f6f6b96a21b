package admin

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// putScriptByName creates the app's script {name} with the source, or
// updates it: PUT /apps/{app}/scripts/by-name/{name}. It is idempotent
// (the live source again makes no new version), so automation deploys by
// name without looking ids up. 201 when it created the script, else 200.
func (a *API) putScriptByName(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	name, _ := rc.UserValue("name").(string)
	if !validScriptName(name) {
		return invalid("name", "must be 1-64 of letters, digits, '_', '.' and '-', starting with a letter or digit (got %q)", name)
	}
	var in updateScriptInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	nv, err := a.checkedVersion(ctx, in.Source, in.Message)
	if err != nil {
		return err
	}
	// Two tries: a script created by someone else between the look-up and
	// the create is then updated.
	for range 2 {
		existing, err := a.scriptNamed(ctx, app.ID, name)
		if err != nil {
			return err
		}
		if existing != nil {
			return a.storeVersion(ctx, rc, existing, nv)
		}
		if err := a.storeScript(ctx, rc, app.ID, name, nv); !errors.Is(err, models.ErrConflict) {
			return err
		}
	}
	return models.ErrConflict
}

// scriptNamed is the app's script called name, or nil.
func (a *API) scriptNamed(ctx context.Context, appID int64, name string) (*models.Script, error) {
	scripts, err := a.db.ListScripts(ctx, appID)
	if err != nil {
		return nil, err
	}
	for i := range scripts {
		if scripts[i].Name == name {
			return &scripts[i], nil
		}
	}
	return nil, nil
}
