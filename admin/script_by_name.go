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
	nv, err := newVersion(in.Source, in.Message)
	if err != nil {
		return err
	}
	if err := a.validateSource(ctx, in.Source); err != nil {
		return err
	}
	// Two tries: a script created by someone else between the look-up and
	// the create is then updated.
	for range 2 {
		existing, err := a.scriptNamed(ctx, app.ID, name)
		if err != nil {
			return err
		}
		if existing == nil {
			script, version, err := a.db.CreateScriptWith(ctx, app.ID, name, nv)
			if errors.Is(err, models.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			if err := a.deployed(ctx, app.ID); err != nil {
				return err
			}
			a.reply(rc, fasthttp.StatusCreated, scriptView{Script: script, Version: version.Version, Hash: version.Hash, Message: version.Message})
			return nil
		}
		updated, version, err := a.db.UpdateScriptWith(ctx, existing.ID, nv)
		if err != nil {
			return err
		}
		if version.Version != existing.LiveVersion {
			if err := a.deployed(ctx, app.ID); err != nil {
				return err
			}
		}
		a.reply(rc, fasthttp.StatusOK, scriptView{Script: updated, Version: version.Version, Hash: version.Hash, Message: version.Message})
		return nil
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
