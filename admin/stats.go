package admin

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// The window of the stats endpoints: `since` is a duration back from now.
const (
	defaultStatsWindow = time.Hour
	minStatsWindow     = time.Minute
	maxStatsWindow     = 31 * 24 * time.Hour
)

// scriptStats is one row of an app's stats: a script's figures by name;
// the requests that matched no route are the row of script 0, named
// "unmatched".
type scriptStats struct {
	Name string `json:"name"`
	models.InvocationStats
}

// appStats is what GET /apps/{app}/stats answers: the app's figures and
// those of each of its scripts (every script, with zeros when it had no
// call), over the window from Since.
type appStats struct {
	Since   time.Time              `json:"since"`
	App     models.InvocationStats `json:"app"`
	Scripts []scriptStats          `json:"scripts"`
}

// UnmatchedScript names the invocations of no script: requests that
// matched no route.
const UnmatchedScript = "unmatched"

// statsSince reads `since` (a Go duration such as 15m, 1h or 24h).
func (a *API) statsSince(rc *fasthttp.RequestCtx) (time.Time, error) {
	window := defaultStatsWindow
	if raw := string(rc.QueryArgs().Peek("since")); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d < minStatsWindow || d > maxStatsWindow {
			return time.Time{}, invalid("since", "must be a duration from %s to %s such as 15m, 1h or 24h, got %q", minStatsWindow, maxStatsWindow, raw)
		}
		window = d
	}
	return a.now().UTC().Add(-window), nil
}

// getAppStats answers the request count, errors and p95 duration of an
// app and of each of its scripts: the overview that stays readable at
// a hundred scripts.
func (a *API) getAppStats(ctx context.Context, rc *fasthttp.RequestCtx) error {
	since, err := a.statsSince(rc)
	if err != nil {
		return err
	}
	ref, _ := rc.UserValue("app").(string)
	app, err := a.db.App(ctx, ref)
	if err != nil {
		return err
	}
	scripts, err := a.db.ListScripts(ctx, app.ID)
	if err != nil {
		return err
	}
	perScript, err := a.db.InvocationStats(ctx, models.StatsFilter{AppID: app.ID, Since: since, ByScript: true})
	if err != nil {
		return err
	}
	total, err := a.db.InvocationStats(ctx, models.StatsFilter{AppID: app.ID, Since: since})
	if err != nil {
		return err
	}
	out := appStats{Since: since, App: models.InvocationStats{AppID: app.ID}, Scripts: make([]scriptStats, 0, len(scripts)+1)}
	if len(total) == 1 {
		out.App = total[0]
	}
	byID := make(map[int64]models.InvocationStats, len(perScript))
	for _, s := range perScript {
		byID[s.ScriptID] = s
	}
	for _, s := range scripts {
		st, ok := byID[s.ID]
		if !ok {
			st = models.InvocationStats{AppID: app.ID, ScriptID: s.ID}
		}
		delete(byID, s.ID)
		out.Scripts = append(out.Scripts, scriptStats{Name: s.Name, InvocationStats: st})
	}
	if st, ok := byID[0]; ok {
		out.Scripts = append(out.Scripts, scriptStats{Name: UnmatchedScript, InvocationStats: st})
	}
	// Deleted scripts' calls stay in the app's figures but get no row.
	a.reply(rc, fasthttp.StatusOK, out)
	return nil
}

// appOverview is one app of GET /stats: its parts and its figures.
type appOverview struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	models.AppCounts
	models.InvocationStats
}

// getStats answers every app with its script, route and domain counts
// and its request count, errors and p95 duration over the window.
func (a *API) getStats(ctx context.Context, rc *fasthttp.RequestCtx) error {
	since, err := a.statsSince(rc)
	if err != nil {
		return err
	}
	apps, err := a.db.ListApps(ctx)
	if err != nil {
		return err
	}
	counts, err := a.db.CountAppParts(ctx)
	if err != nil {
		return err
	}
	stats, err := a.db.InvocationStats(ctx, models.StatsFilter{Since: since})
	if err != nil {
		return err
	}
	byApp := make(map[int64]models.InvocationStats, len(stats))
	for _, s := range stats {
		byApp[s.AppID] = s
	}
	items := make([]appOverview, 0, len(apps))
	for _, app := range apps {
		st, ok := byApp[app.ID]
		if !ok {
			st.AppID = app.ID
		}
		items = append(items, appOverview{Slug: app.Slug, Name: app.Name, AppCounts: counts[app.ID], InvocationStats: st})
	}
	a.reply(rc, fasthttp.StatusOK, map[string]any{"since": since, "items": items})
	return nil
}
