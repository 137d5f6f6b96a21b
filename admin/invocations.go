package admin

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// maxInvocationLimit caps one page of invocations.
const maxInvocationLimit = 500

func (a *API) listInvocations(ctx context.Context, rc *fasthttp.RequestCtx) error {
	f, err := a.invocationFilter(ctx, rc)
	if err == nil {
		// The stream reads `after` as where it starts; the list as a cursor.
		f.After, err = queryInt(rc.QueryArgs(), "after", 1, math.MaxInt64)
	}
	if err != nil {
		return err
	}
	invs, err := a.db.ListInvocations(ctx, f)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(invs))
	return nil
}

// queryInt reads an optional integer query parameter in [min, max]; 0
// when absent.
func queryInt(args *fasthttp.Args, name string, min, max int64) (int64, error) {
	raw := args.Peek(name)
	if len(raw) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < min || n > max {
		return 0, invalid(name, "must be an integer from %d to %d, got %q", min, max, raw)
	}
	return n, nil
}

func (a *API) getInvocation(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, _ := rc.UserValue("request_id").(string)
	inv, err := a.db.Invocation(ctx, id)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, inv)
	return nil
}

// Windows of GET /invocations/per-minute, in minutes.
const (
	defaultMinuteWindow = 60
	maxMinuteWindow     = 24 * 60
)

// minuteCounts is what GET /invocations/per-minute answers: the counts of
// the minutes from Since on that had invocations (the others are zero).
type minuteCounts struct {
	Since   time.Time            `json:"since"`
	Minutes int64                `json:"minutes"`
	Items   []models.MinuteCount `json:"items"`
}

// invocationsPerMinute counts requests and server errors per minute and
// script over the last `minutes` minutes (the current one included),
// optionally of one app or script: the dashboard's chart.
func (a *API) invocationsPerMinute(ctx context.Context, rc *fasthttp.RequestCtx) error {
	args := rc.QueryArgs()
	var f models.MinuteFilter
	var err error
	if f.AppID, f.ScriptID, err = a.appScriptFilter(ctx, rc); err != nil {
		return err
	}
	minutes, err := queryInt(args, "minutes", 1, maxMinuteWindow)
	if err != nil {
		return err
	}
	if minutes == 0 {
		minutes = defaultMinuteWindow
	}
	f.Since = a.now().UTC().Truncate(time.Minute).Add(-time.Duration(minutes-1) * time.Minute)
	counts, err := a.db.InvocationsPerMinute(ctx, f)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, minuteCounts{Since: f.Since, Minutes: minutes, Items: counts})
	return nil
}

// appScriptFilter reads the optional `app` (id or slug) and `script`
// query arguments the invocation endpoints filter by.
func (a *API) appScriptFilter(ctx context.Context, rc *fasthttp.RequestCtx) (appID, scriptID int64, err error) {
	args := rc.QueryArgs()
	if ref := string(args.Peek("app")); ref != "" {
		app, err := a.db.App(ctx, ref)
		if err != nil {
			return 0, 0, err
		}
		appID = app.ID
	}
	scriptID, err = queryInt(args, "script", 1, 1<<62)
	return appID, scriptID, err
}
