package admin

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// maxInvocationLimit caps one page of invocations.
const maxInvocationLimit = 500

func (a *API) listInvocations(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	var f models.InvocationFilter
	if ref := string(args.Peek("app")); ref != "" {
		app, err := a.db.App(detach(ctx), ref)
		if err != nil {
			a.fail(ctx, err)
			return
		}
		f.AppID = app.ID
	}
	var err error
	if f.ScriptID, err = queryInt(args, "script", 1, 1<<62); err != nil {
		a.fail(ctx, err)
		return
	}
	status, err := queryInt(args, "status", 100, 999)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	f.Status = int(status)
	limit, err := queryInt(args, "limit", 1, maxInvocationLimit)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	f.Limit = int(limit)
	invs, err := a.db.ListInvocations(detach(ctx), f)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(invs))
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

func (a *API) getInvocation(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("request_id").(string)
	inv, err := a.db.Invocation(detach(ctx), id)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, inv)
}
