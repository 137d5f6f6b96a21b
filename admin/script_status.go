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
	// Node is the node that answered: crashes are counted by each node's
	// router, so another node may count otherwise. Parking holds on
	// every node: ParkedBy names the node whose router parked it.
	Node     string `json:"node"`
	ParkedBy string `json:"parked_by,omitempty"`
	// Health adds to the state what the script's latest calls say.
	Health scriptHealth `json:"health"`
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
func (a *API) getScriptStatus(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	if script.AppID != app.ID {
		return fmt.Errorf("%w: app %q has no script %d", models.ErrNotFound, app.Slug, script.ID)
	}
	st, err := a.appStatus(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("status of script %d: %w", script.ID, err)
	}
	calls, since, err := a.recentCalls(ctx, app.ID)
	if err != nil {
		return err
	}
	status := statusIn(st, script.ID)
	status.Node = a.node
	if status.State == stateParked {
		status.ParkedBy = a.node
	}
	// The stored parking is the cluster's: it holds on every node, and
	// says which one parked the script.
	parking, err := a.db.ScriptParking(ctx, script.ID, time.Now())
	if err != nil {
		return fmt.Errorf("status of script %d: %w", script.ID, err)
	}
	if parking != nil && parking.Version == script.LiveVersion {
		until := parking.ParkedUntil
		status.State, status.ParkedUntil, status.Reason, status.ParkedBy = stateParked, &until, parking.Reason, parking.Node
	}
	status.Health = healthFrom(status.State, calls[script.ID], since)
	a.reply(rc, fasthttp.StatusOK, status)
	return nil
}

// scriptItem is a script in the list of an app's scripts, with its state
// and its health.
type scriptItem struct {
	models.Script
	State  string       `json:"state,omitempty"`
	Health scriptHealth `json:"health"`
}

// scriptItems adds to scripts their state and health; without an answer
// from the router (it is restarting) the list goes out without states,
// and the health is read from the calls alone.
func (a *API) scriptItems(ctx context.Context, rc *fasthttp.RequestCtx, appID int64, scripts []models.Script) ([]scriptItem, error) {
	calls, since, err := a.recentCalls(ctx, appID)
	if err != nil {
		return nil, err
	}
	items := make([]scriptItem, len(scripts))
	st, err := a.appStatus(ctx, appID)
	for i, s := range scripts {
		items[i].Script = s
		if err == nil {
			items[i].State = statusIn(st, s.ID).State
		}
		items[i].Health = healthFrom(items[i].State, calls[s.ID], since)
	}
	if err != nil {
		a.requestLog(rc).Warn("script list without states", "app", appID, "err", err)
	}
	return items, nil
}

type patchScriptInput struct {
	Settings map[string]json.RawMessage `json:"settings"`
}

// patchScript serves PATCH /scripts/{id}: it changes the script's limits
// ({"settings": {"timeout_ms": 250, "max_output": null}}; null resets a
// limit to the app's) without making a new version.
func (a *API) patchScript(ctx context.Context, rc *fasthttp.RequestCtx) error {
	script, err := a.scriptParam(ctx, rc)
	if err != nil {
		return err
	}
	var in patchScriptInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if in.Settings == nil {
		return invalid("settings", "is required: an object of limits (timeout_ms, max_concurrency, max_output, max_response_body)")
	}
	settings := script.Settings
	if err := applySettings(scriptSettings(&settings), in.Settings); err != nil {
		return err
	}
	updated, err := a.db.UpdateScriptSettings(ctx, script.ID, settings)
	if err != nil {
		return err
	}
	if err := a.deployed(ctx, updated.AppID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, scriptView{Script: updated, Version: updated.LiveVersion})
	return nil
}
