// Package deploy owns turning stored state into live state on this node:
// it loads an app's scripts and routes through package models, spawns or
// stops the app's router actor, sends it a fresh AppSnapshot with the
// app's own limits (config defaults filling the gaps), and publishes a
// new ingress Table with every app's domain claims and former slugs. The
// admin API calls it after every committed change; that is how a change
// becomes live at once. Run re-reads the database now and then, so that
// a change whose notification was lost (or that another process wrote)
// becomes live anyway: the database is the truth, live state follows it.
// Follow makes another process's changes live as their PostgreSQL
// notifications arrive, well before the next resync.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/domain"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/models"
)

// Options configure a Deployer.
type Options struct {
	DB      *models.DB
	Runtime *actors.Runtime
	// Publish receives every new ingress table.
	Publish func(*ingress.Table)
	// Limits are the config defaults; an app's settings override them.
	Limits     actors.Limits
	DefaultApp string
	// BaseDomain makes every app answer on {slug}.{BaseDomain}.
	BaseDomain string
	Logger     *slog.Logger
	// ResyncInterval is how often Run compares the database with what is
	// live; zero means DefaultResyncInterval.
	ResyncInterval time.Duration
	// Record, when set, receives the invocation record of every call
	// made through Invoke (schedules, picloud.Invoke).
	Record func(models.Invocation)
	// Node names this node in the parkings it stores (RecordParked).
	Node string
}

// DefaultResyncInterval is how often Run re-reads the database by
// default. With nothing changed a resync is one small query.
const DefaultResyncInterval = 5 * time.Second

// Deployer keeps the routers and the ingress table in step with the DB.
type Deployer struct {
	opts Options

	// mu serializes changes, so snapshots reach a router in commit order.
	mu   sync.Mutex
	apps map[int64]*liveApp
}

// liveApp is what the Deployer remembers of a deployed app.
type liveApp struct {
	ingress ingress.App
	scripts []int64
	// names maps the name of each live script to its id, for Invoke.
	names map[string]int64
	// revision is the app's revision (see models.AppRevisions) read
	// before what was deployed was loaded: what is live is at least as
	// new as it.
	revision int64
}

// New returns a Deployer with nothing deployed.
func New(opts Options) *Deployer {
	return &Deployer{opts: opts, apps: make(map[int64]*liveApp)}
}

// LoadAll deploys every stored app.
func (d *Deployer) LoadAll(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.resyncLocked(ctx, true)
	return err
}

// AppChanged reloads one app and makes its stored state live: new
// requests see it as soon as this returns.
func (d *Deployer) AppChanged(ctx context.Context, appID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.reloadLocked(ctx, appID); err != nil {
		return err
	}
	return d.publishLocked(ctx)
}

// Run resyncs every ResyncInterval until ctx is done. A failed resync is
// logged and tried again at the next tick.
func (d *Deployer) Run(ctx context.Context) {
	every := d.opts.ResyncInterval
	if every <= 0 {
		every = DefaultResyncInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Resync(ctx); err != nil && ctx.Err() == nil {
				d.opts.Logger.Warn("resync with the database", "err", err)
			}
		}
	}
}

// Resync brings live state in step with the database: it deploys the
// apps whose revision moved since they were deployed and the apps it has
// not deployed, removes the apps that are gone, and publishes a new
// ingress table if any of that happened. With nothing changed it costs
// one query and changes nothing.
func (d *Deployer) Resync(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed, err := d.resyncLocked(ctx, false)
	if changed > 0 {
		d.opts.Logger.Info("resynced with the database", "apps", changed)
	}
	return err
}

// resyncLocked reloads every app that is not live at its stored revision
// and reports how many it reloaded. It publishes when it reloaded any, or
// when always is set.
func (d *Deployer) resyncLocked(ctx context.Context, always bool) (int, error) {
	revs, err := d.opts.DB.AppRevisions(ctx)
	if err != nil {
		return 0, err
	}
	changed := 0
	for id := range d.apps {
		if _, ok := revs[id]; !ok {
			d.removeLocked(id)
			changed++
		}
	}
	var errs []error
	for id, rev := range revs {
		if live, ok := d.apps[id]; ok && live.revision == rev {
			continue
		}
		changed++
		if err := d.reloadLocked(ctx, id); err != nil {
			// The other apps still go live; this one is tried again.
			errs = append(errs, err)
		}
	}
	if changed > 0 || always {
		errs = append(errs, d.publishLocked(ctx))
	}
	return changed, errors.Join(errs...)
}

// reloadLocked deploys app appID as stored now, or removes it if it is
// gone. Its revision is read first, so what is deployed is at least as
// new as the revision remembered.
func (d *Deployer) reloadLocked(ctx context.Context, appID int64) error {
	rev, err := d.opts.DB.AppRevision(ctx, appID)
	var app *models.App
	if err == nil {
		app, err = d.opts.DB.App(ctx, strconv.FormatInt(appID, 10))
	}
	switch {
	case errors.Is(err, models.ErrNotFound):
		d.removeLocked(appID)
		return nil
	case err != nil:
		return fmt.Errorf("load app %d: %w", appID, err)
	}
	return d.deployLocked(ctx, app, rev)
}

// AppStatus asks the router of a deployed app for its state; ctx bounds
// the wait.
func (d *Deployer) AppStatus(ctx context.Context, appID int64) (actors.RouterStatus, error) {
	d.mu.Lock()
	live, ok := d.apps[appID]
	d.mu.Unlock()
	if !ok {
		return actors.RouterStatus{}, fmt.Errorf("%w: app %d is not deployed", models.ErrNotFound, appID)
	}
	return d.opts.Runtime.Inspect(ctx, live.ingress.Router)
}

func (d *Deployer) deployLocked(ctx context.Context, app *models.App, revision int64) error {
	scripts, err := d.opts.DB.LiveScripts(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("load scripts of app %q: %w", app.Slug, err)
	}
	routes, err := d.opts.DB.AppRoutes(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("load routes of app %q: %w", app.Slug, err)
	}
	parked, err := d.opts.DB.ParkedScripts(ctx, app.ID, time.Now())
	if err != nil {
		return fmt.Errorf("load parked scripts of app %q: %w", app.Slug, err)
	}
	snap := &actors.AppSnapshot{
		AppID:   app.ID,
		Slug:    app.Slug,
		Limits:  AppLimits(d.opts.Limits, app.Settings),
		Scripts: make([]actors.ScriptVersion, 0, len(scripts)),
		Routes:  make([]actors.Route, 0, len(routes)),
	}
	ids := make([]int64, 0, len(scripts))
	names := make(map[string]int64, len(scripts))
	wait := snap.Limits.Timeout
	for _, s := range scripts {
		sv := actors.ScriptVersion{Script: engine.Script{
			ScriptID: s.Script.ID,
			Name:     s.Script.Name,
			Version:  s.Version.Version,
			Source:   s.Version.Source,
			Hash:     s.Version.Hash,
		}}
		if s.Settings != (models.ScriptSettings{}) {
			l := ScriptLimits(snap.Limits, s.Settings)
			sv.Limits = &l
			wait = max(wait, l.Timeout)
		}
		snap.Scripts = append(snap.Scripts, sv)
		ids = append(ids, s.Script.ID)
		names[s.Script.Name] = s.Script.ID
	}
	for _, r := range routes {
		snap.Routes = append(snap.Routes, actors.Route{ID: r.ID, Method: r.Method, Path: r.Path, ScriptID: r.ScriptID})
	}
	for _, p := range parked {
		snap.Parked = append(snap.Parked, actors.Parked{AppID: p.AppID, ScriptID: p.ScriptID, Version: p.Version,
			Until: p.ParkedUntil, Reason: p.Reason, Node: p.Node})
	}

	live, ok := d.apps[app.ID]
	if !ok {
		pid, err := d.opts.Runtime.SpawnRouter(app.ID, app.Slug)
		if err != nil {
			return fmt.Errorf("start router of app %q: %w", app.Slug, err)
		}
		live = &liveApp{ingress: ingress.App{ID: app.ID, Router: pid}}
		d.apps[app.ID] = live
	}
	live.ingress.Slug = app.Slug
	live.ingress.MaxRequestBody = deref(app.Settings.MaxRequestBody)
	live.ingress.PublicErrors = app.Settings.PublicErrors
	live.ingress.Wait = 0
	if wait != d.opts.Limits.Timeout {
		// Ingress waits a little longer than the longest a request of
		// the app may queue and run, so the executor's 504 (or 503) is
		// the one the client sees.
		live.ingress.Wait = snap.Limits.QueueTimeout + wait + time.Second
	}
	live.scripts, live.names = ids, names
	live.revision = revision
	d.opts.Runtime.Send(live.ingress.Router, snap)
	return nil
}

func (d *Deployer) removeLocked(appID int64) {
	live, ok := d.apps[appID]
	if !ok {
		return
	}
	delete(d.apps, appID)
	d.opts.Runtime.Stop(live.ingress.Router)
	d.opts.Logger.Info("app removed", "app_id", appID, "slug", live.ingress.Slug)
}

// publishLocked publishes a Table of the deployed apps with every domain
// claim and former slug as stored now.
func (d *Deployer) publishLocked(ctx context.Context) error {
	spec := ingress.TableSpec{
		Apps:       make([]ingress.App, 0, len(d.apps)),
		Scripts:    make(map[int64]int64),
		Redirects:  make(map[string]int64),
		BaseDomain: d.opts.BaseDomain,
		DefaultApp: d.opts.DefaultApp,
	}
	for id, live := range d.apps {
		spec.Apps = append(spec.Apps, live.ingress)
		for _, s := range live.scripts {
			spec.Scripts[s] = id
		}
	}
	domains, err := d.opts.DB.AllDomains(ctx)
	if err != nil {
		return fmt.Errorf("load domain claims: %w", err)
	}
	for _, dom := range domains {
		p, err := domain.Parse(dom.Pattern)
		if err != nil {
			d.opts.Logger.Warn("stored domain claim does not parse; ignored", "domain_id", dom.ID, "pattern", dom.Pattern, "err", err)
			continue
		}
		spec.Claims = append(spec.Claims, ingress.Claim{Pattern: p, AppID: dom.AppID})
	}
	redirects, err := d.opts.DB.SlugRedirects(ctx)
	if err != nil {
		return fmt.Errorf("load slug redirects: %w", err)
	}
	for _, r := range redirects {
		spec.Redirects[r.OldSlug] = r.AppID
	}
	t, err := ingress.Build(spec)
	if err != nil {
		d.opts.Logger.Warn("some domain claims are not served", "err", err)
	}
	d.opts.Publish(t)
	return nil
}

// AppLimits returns the limits of an app's scripts: the app's settings
// where it has them, defaults elsewhere.
func AppLimits(defaults actors.Limits, s models.AppSettings) actors.Limits {
	return override(defaults, s.TimeoutMS, s.MaxConcurrency, s.MaxOutput, s.MaxResponseBody)
}

// ScriptLimits returns the limits of one script: its own settings where
// it has them, its app's limits elsewhere. So config defaults < app
// settings < script settings.
func ScriptLimits(app actors.Limits, s models.ScriptSettings) actors.Limits {
	return override(app, s.TimeoutMS, s.MaxConcurrency, s.MaxOutput, s.MaxResponseBody)
}

// override returns l with each setting that is set in place of its field.
func override(l actors.Limits, timeoutMS, maxConcurrency, maxOutput, maxResponseBody *int64) actors.Limits {
	if timeoutMS != nil {
		l.Timeout = time.Duration(*timeoutMS) * time.Millisecond
	}
	if maxConcurrency != nil {
		l.MaxConcurrency = int(*maxConcurrency)
	}
	if maxOutput != nil {
		l.MaxOutput = int(*maxOutput)
	}
	if maxResponseBody != nil {
		l.MaxResponseBody = int(*maxResponseBody)
	}
	return l
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
