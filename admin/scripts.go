package admin

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// SourceChecker tells whether a script's source would load, without
// compiling it in this process (see worker.Checker). Its errors are a
// *sandbox.CompileError for a problem in the source, or wrap
// sandbox.ErrSourceTooLarge, ErrCheckLimit or ErrCheckBusy.
type SourceChecker interface {
	Check(ctx context.Context, source string) error
}

// validScriptName reports whether s is 1-64 of letters, digits, '_', '.'
// and '-', starting with a letter or digit: names show in URLs, logs and
// the UI.
func validScriptName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

type createScriptInput struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

type updateScriptInput struct {
	Source string `json:"source"`
}

type rollbackInput struct {
	Version int64 `json:"version"`
}

// scriptView is a script with its live version.
type scriptView struct {
	*models.Script
	Version int64  `json:"version"`
	Hash    string `json:"hash,omitempty"`
	Source  string `json:"source,omitempty"`
}

// validateSource checks a source before it is stored or made live again.
func (a *API) validateSource(ctx context.Context, source string) error {
	switch {
	case source == "":
		return invalid("source", "is required")
	case a.checker == nil:
		return errors.New("no script checker is configured")
	}
	return a.checker.Check(ctx, source)
}

func (a *API) listScripts(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	scripts, err := a.db.ListScripts(detach(ctx), app.ID)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(a.scriptItems(detach(ctx), app.ID, scripts)))
}

func (a *API) createScript(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in createScriptInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if !validScriptName(in.Name) {
		a.fail(ctx, invalid("name", "must be 1-64 of letters, digits, '_', '.' and '-', starting with a letter or digit (got %q)", in.Name))
		return
	}
	if err := a.validateSource(detach(ctx), in.Source); err != nil {
		a.fail(ctx, err)
		return
	}
	script, version, err := a.db.CreateScript(detach(ctx), app.ID, in.Name, in.Source)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusCreated, scriptView{Script: script, Version: version.Version, Hash: version.Hash})
}

// scriptParam loads the script named by the {id} path parameter.
func (a *API) scriptParam(ctx *fasthttp.RequestCtx) (*models.Script, error) {
	id, err := idParam(ctx, "id")
	if err != nil {
		return nil, err
	}
	return a.db.Script(detach(ctx), id)
}

func (a *API) getScript(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	v, err := a.db.ScriptVersion(detach(ctx), script.ID, script.LiveVersion)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, scriptView{Script: script, Version: v.Version, Hash: v.Hash, Source: v.Source})
}

func (a *API) updateScript(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in updateScriptInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.validateSource(detach(ctx), in.Source); err != nil {
		a.fail(ctx, err)
		return
	}
	updated, version, err := a.db.UpdateScript(detach(ctx), script.ID, in.Source)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if version.Version == script.LiveVersion {
		// The live source again: no new version, nothing to deploy.
		a.reply(ctx, fasthttp.StatusOK, scriptView{Script: updated, Version: version.Version, Hash: version.Hash})
		return
	}
	if err := a.deployed(ctx, updated.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, scriptView{Script: updated, Version: version.Version, Hash: version.Hash})
}

func (a *API) deleteScript(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.db.DeleteScript(detach(ctx), script.ID); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(ctx, script.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func (a *API) listVersions(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	versions, err := a.db.ScriptVersions(detach(ctx), script.ID)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(versions))
}

func (a *API) rollbackScript(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in rollbackInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if in.Version <= 0 {
		a.fail(ctx, invalid("version", "must be a positive version number, got %d", in.Version))
		return
	}
	// A version stored before the check learned what it refuses now is
	// checked again before it goes live.
	old, err := a.db.ScriptVersion(detach(ctx), script.ID, in.Version)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.validateSource(detach(ctx), old.Source); err != nil {
		a.fail(ctx, err)
		return
	}
	updated, err := a.db.RollbackScript(detach(ctx), script.ID, in.Version)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.deployed(ctx, updated.AppID); err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, scriptView{Script: updated, Version: updated.LiveVersion})
}
