// Package deploy owns turning stored state into live state on this node:
// it loads an app's scripts and routes through package models, spawns or
// stops the app's router actor, sends it a fresh AppSnapshot, and
// publishes a new ingress Table. The admin API calls it after every
// committed change; that is how a script change becomes live at once.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/models"
)

// Options configure a Deployer.
type Options struct {
	DB      *models.DB
	Runtime *actors.Runtime
	// Publish receives every new ingress table.
	Publish    func(*ingress.Table)
	Limits     actors.Limits
	DefaultApp string
	Logger     *slog.Logger
}

// Deployer keeps the routers and the ingress table in step with the DB.
type Deployer struct {
	opts Options

	// mu serializes changes, so snapshots reach a router in commit order.
	mu   sync.Mutex
	apps map[int64]*liveApp
}

// liveApp is what the Deployer remembers of a deployed app.
type liveApp struct {
	slug    string
	router  *actor.PID
	scripts []int64
}

// New returns a Deployer with nothing deployed.
func New(opts Options) *Deployer {
	return &Deployer{opts: opts, apps: make(map[int64]*liveApp)}
}

// LoadAll deploys every stored app.
func (d *Deployer) LoadAll(ctx context.Context) error {
	apps, err := d.opts.DB.ListApps(ctx)
	if err != nil {
		return fmt.Errorf("load apps: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range apps {
		if err := d.deployLocked(ctx, &apps[i]); err != nil {
			return err
		}
	}
	d.publishLocked()
	return nil
}

// AppChanged reloads one app and makes its stored state live: new
// requests see it as soon as this returns.
func (d *Deployer) AppChanged(ctx context.Context, appID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	app, err := d.opts.DB.App(ctx, strconv.FormatInt(appID, 10))
	switch {
	case errors.Is(err, models.ErrNotFound):
		d.removeLocked(appID)
	case err != nil:
		return fmt.Errorf("load app %d: %w", appID, err)
	default:
		if err := d.deployLocked(ctx, app); err != nil {
			return err
		}
	}
	d.publishLocked()
	return nil
}

func (d *Deployer) deployLocked(ctx context.Context, app *models.App) error {
	scripts, err := d.opts.DB.LiveScripts(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("load scripts of app %q: %w", app.Slug, err)
	}
	routes, err := d.opts.DB.AppRoutes(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("load routes of app %q: %w", app.Slug, err)
	}
	snap := &actors.AppSnapshot{
		AppID:   app.ID,
		Slug:    app.Slug,
		Limits:  d.opts.Limits,
		Scripts: make([]actors.ScriptVersion, 0, len(scripts)),
		Routes:  make([]actors.Route, 0, len(routes)),
	}
	ids := make([]int64, 0, len(scripts))
	for _, s := range scripts {
		snap.Scripts = append(snap.Scripts, actors.ScriptVersion{
			ScriptID: s.Script.ID,
			Name:     s.Script.Name,
			Version:  s.Version.Version,
			Source:   s.Version.Source,
			Hash:     s.Version.Hash,
		})
		ids = append(ids, s.Script.ID)
	}
	for _, r := range routes {
		snap.Routes = append(snap.Routes, actors.Route{ID: r.ID, Method: r.Method, Path: r.Path, ScriptID: r.ScriptID})
	}

	live, ok := d.apps[app.ID]
	if !ok {
		pid, err := d.opts.Runtime.SpawnRouter(app.ID, app.Slug)
		if err != nil {
			return fmt.Errorf("start router of app %q: %w", app.Slug, err)
		}
		live = &liveApp{router: pid}
		d.apps[app.ID] = live
	}
	live.slug = app.Slug
	live.scripts = ids
	d.opts.Runtime.Send(live.router, snap)
	return nil
}

func (d *Deployer) removeLocked(appID int64) {
	live, ok := d.apps[appID]
	if !ok {
		return
	}
	delete(d.apps, appID)
	d.opts.Runtime.Stop(live.router)
	d.opts.Logger.Info("app removed", "app_id", appID, "slug", live.slug)
}

func (d *Deployer) publishLocked() {
	apps := make([]ingress.App, 0, len(d.apps))
	scripts := make(map[int64]int64)
	for id, live := range d.apps {
		apps = append(apps, ingress.App{ID: id, Slug: live.slug, Router: live.router})
		for _, s := range live.scripts {
			scripts[s] = id
		}
	}
	d.opts.Publish(ingress.NewTable(apps, scripts, d.opts.DefaultApp))
}
