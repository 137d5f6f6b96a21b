package admin

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

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
	Name    string `json:"name"`
	Source  string `json:"source"`
	Message string `json:"message"`
}

type updateScriptInput struct {
	Source string `json:"source"`
	// Message is stored with the new version ("" for none).
	Message string `json:"message"`
}

// newVersion checks a save's message and makes the version to store. A
// message is up to models.MaxVersionMessage bytes of text: valid UTF-8,
// no control characters but newlines and tabs; blanks around it go.
func newVersion(source, message string) (models.NewVersion, error) {
	message = strings.TrimSpace(message)
	switch {
	case len(message) > models.MaxVersionMessage:
		return models.NewVersion{}, invalid("message", "must be at most %d bytes, got %d", models.MaxVersionMessage, len(message))
	case !utf8.ValidString(message):
		return models.NewVersion{}, invalid("message", "must be valid UTF-8 text")
	case strings.ContainsFunc(message, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return models.NewVersion{}, invalid("message", "must not hold control characters")
	}
	return models.NewVersion{Source: source, Message: message}, nil
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
	// Message is the live version's message, when it has one.
	Message string `json:"message,omitempty"`
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

func (a *API) listScripts(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	scripts, err := a.db.ListScripts(ctx, app.ID)
	if err != nil {
		return err
	}
	items, err := a.scriptItems(ctx, rc, app.ID, scripts)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(items))
	return nil
}

func (a *API) createScript(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	var in createScriptInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if !validScriptName(in.Name) {
		return invalid("name", "must be 1-64 of letters, digits, '_', '.' and '-', starting with a letter or digit (got %q)", in.Name)
	}
	nv, err := newVersion(in.Source, in.Message)
	if err != nil {
		return err
	}
	if err := a.validateSource(ctx, in.Source); err != nil {
		return err
	}
	script, version, err := a.db.CreateScriptWith(ctx, app.ID, in.Name, nv)
	if err != nil {
		return err
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusCreated, scriptView{Script: script, Version: version.Version, Hash: version.Hash, Message: version.Message})
	return nil
}

// scriptParam loads the script named by the {id} path parameter.
func (a *API) scriptParam(ctx context.Context, rc *fasthttp.RequestCtx) (*models.Script, error) {
	id, err := idParam(rc, "id")
	if err != nil {
		return nil, err
	}
	return a.db.Script(ctx, id)
}

func (a *API) getScript(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	v, err := a.db.ScriptVersion(ctx, script.ID, script.LiveVersion)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, scriptView{Script: script, Version: v.Version, Hash: v.Hash, Source: v.Source, Message: v.Message})
	return nil
}

func (a *API) updateScript(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
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
	updated, version, err := a.db.UpdateScriptWith(ctx, script.ID, nv)
	if err != nil {
		return err
	}
	if version.Version == script.LiveVersion {
		// The live source again: no new version, nothing to deploy.
		a.reply(rc, fasthttp.StatusOK, scriptView{Script: updated, Version: version.Version, Hash: version.Hash, Message: version.Message})
		return nil
	}
	if err := a.deployed(ctx, updated.AppID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, scriptView{Script: updated, Version: version.Version, Hash: version.Hash, Message: version.Message})
	return nil
}

func (a *API) deleteScript(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	if err := a.db.DeleteScript(ctx, script.ID); err != nil {
		return err
	}
	if err := a.deployed(ctx, script.AppID); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

func (a *API) listVersions(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	versions, err := a.db.ScriptVersions(ctx, script.ID)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(versions))
	return nil
}

func (a *API) rollbackScript(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	var in rollbackInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if in.Version <= 0 {
		return invalid("version", "must be a positive version number, got %d", in.Version)
	}
	// A version stored before the check learned what it refuses now is
	// checked again before it goes live.
	old, err := a.db.ScriptVersion(ctx, script.ID, in.Version)
	if err != nil {
		return err
	}
	if err := a.validateSource(ctx, old.Source); err != nil {
		return err
	}
	updated, err := a.db.RollbackScript(ctx, script.ID, in.Version)
	if err != nil {
		return err
	}
	if err := a.deployed(ctx, updated.AppID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, scriptView{Script: updated, Version: updated.LiveVersion})
	return nil
}
