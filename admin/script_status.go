package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// statusTimeout bounds asking an app's router for its state.
const statusTimeout = 2 * time.Second

// Script states as the status endpoint and the script list show them.
const (
	stateOK     = "ok"
	stateParked = "parked"
)

// scriptStatus is the runtime state of a script's live version, as its
// app's router knows it.
type scriptStatus struct {
	State       string     `json:"state"`
	ParkedUntil *time.Time `json:"parked_until,omitempty"`
	// Reason says why it is parked ("" when it is not).
	Reason string `json:"reason"`
	// Crashes counts the crashes within the current window.
	Crashes int `json:"crashes"`
}

// ScriptState is what an app's router knows of the live version of one
// of its scripts. It is admin's own type: the composition root adapts the
// data plane's status to it, so admin never imports the actors.
type ScriptState struct {
	ScriptID int64
	// Crashes counts the crashes within the current window.
	Crashes int
	// ParkedUntil is set while the version is parked; ParkReason says why.
	ParkedUntil time.Time
	ParkReason  string
}

// statusIn finds script in states; a script the router does not hold
// (not deployed yet, or no traffic since a restart) is ok.
func statusIn(states []ScriptState, scriptID int64) scriptStatus {
	for _, p := range states {
		if p.ScriptID != scriptID {
			continue
		}
		s := scriptStatus{State: stateOK, Crashes: p.Crashes}
		if !p.ParkedUntil.IsZero() {
			until := p.ParkedUntil.UTC()
			s.State, s.ParkedUntil, s.Reason = stateParked, &until, p.ParkReason
		}
		return s
	}
	return scriptStatus{State: stateOK}
}

// appStatus asks the deployer for the state of app's live scripts.
func (a *API) appStatus(ctx context.Context, appID int64) ([]ScriptState, error) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	return a.deployer.AppStatus(ctx, appID)
}

// getScriptStatus serves GET /apps/{app}/scripts/{id}/status.
func (a *API) getScriptStatus(ctx *fasthttp.RequestCtx) {
	app, err := a.appParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if script.AppID != app.ID {
		a.fail(ctx, fmt.Errorf("%w: app %q has no script %d", models.ErrNotFound, app.Slug, script.ID))
		return
	}
	st, err := a.appStatus(detach(ctx), app.ID)
	if err != nil {
		a.fail(ctx, fmt.Errorf("status of script %d: %w", script.ID, err))
		return
	}
	a.reply(ctx, fasthttp.StatusOK, statusIn(st, script.ID))
}

// scriptItem is a script in the list of an app's scripts, with its state.
type scriptItem struct {
	models.Script
	State string `json:"state,omitempty"`
}

// scriptItems adds to scripts their state; without an answer from the
// router (it is restarting) the list goes out without states.
func (a *API) scriptItems(ctx context.Context, appID int64, scripts []models.Script) []scriptItem {
	items := make([]scriptItem, len(scripts))
	st, err := a.appStatus(ctx, appID)
	for i, s := range scripts {
		items[i].Script = s
		if err == nil {
			items[i].State = statusIn(st, s.ID).State
		}
	}
	if err != nil {
		a.logger.Warn("script list without states", "app_id", appID, "err", err)
	}
	return items
}

type patchScriptInput struct {
	Settings map[string]json.RawMessage `json:"settings"`
}

// patchScript serves PATCH /scripts/{id}: it changes the script's limits
// ({"settings": {"timeout_ms": 250, "max_output": null}}; null resets a
// limit to the app's) without making a new version.
func (a *API) patchScript(ctx *fasthttp.RequestCtx) {
	script, err := a.scriptParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in patchScriptInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if in.Settings == nil {
		a.fail(ctx, invalid("settings", "is required: an object of limits (timeout_ms, max_concurrency, max_output, max_response_body)"))
		return
	}
	settings := script.Settings
	if err := applySettings(scriptSettings(&settings), in.Settings); err != nil {
		a.fail(ctx, err)
		return
	}
	updated, err := a.db.UpdateScriptSettings(detach(ctx), script.ID, settings)
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
