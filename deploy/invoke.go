package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/models"
)

// Call is a call of a script that no HTTP request brought: a schedule's
// firing or a picloud.Invoke.
type Call struct {
	AppID int64
	// ScriptID names the script, or else Script its name.
	ScriptID int64
	Script   string
	// Request is what the script sees; its Trigger says who calls.
	Request *actors.Request
}

// Invoke runs a script of a deployed app through the app's router, as
// an HTTP call runs (the script's limits, queue and parking apply), waits
// for its Result until ctx ends, and records the invocation. A script of
// another app is not found: the call is scoped to call.AppID.
func (d *Deployer) Invoke(ctx context.Context, call Call) actors.Result {
	start := time.Now()
	res := d.invoke(ctx, call)
	if d.opts.Record != nil {
		d.opts.Record(invocationRecord(call, &res, time.Since(start)))
	}
	return res
}

func (d *Deployer) invoke(ctx context.Context, call Call) actors.Result {
	router, scriptID, ok := d.target(call)
	if !ok {
		// Another process may have made the app, the script or the
		// schedule before this one's resync saw it: the database is the
		// truth.
		if err := d.refresh(ctx, call.AppID); err != nil {
			return actors.Result{Status: 503, ErrCode: actors.CodeUnavailable, ErrMessage: fmt.Sprintf("deploy app %d: %v", call.AppID, err)}
		}
		router, scriptID, ok = d.target(call)
	}
	switch {
	case router == nil:
		return actors.Result{Status: 503, ErrCode: actors.CodeUnavailable, ErrMessage: fmt.Sprintf("app %d is not deployed", call.AppID)}
	case !ok:
		return actors.Result{Status: 404, ErrCode: actors.CodeNotFound, ErrMessage: fmt.Sprintf("this app has no script %q", call.Script)}
	}
	reply := actors.NewReply()
	d.opts.Runtime.Send(router, &actors.Invoke{Request: call.Request, ScriptID: scriptID, Reply: reply})
	select {
	case res := <-reply.C():
		return res
	case <-ctx.Done():
		return actors.Result{Status: 504, ErrCode: actors.CodeTimeout, ScriptID: scriptID,
			ErrMessage: fmt.Sprintf("no answer from the script before the caller gave up: %v", ctx.Err())}
	}
}

// refresh deploys the app anew if the database holds a newer revision
// of it than this process has live: one cheap query when nothing
// changed, so a script that invokes a name that does not exist costs no
// redeploy.
func (d *Deployer) refresh(ctx context.Context, appID int64) error {
	rev, err := d.opts.DB.AppRevision(ctx, appID)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return nil
		}
		return err
	}
	d.mu.Lock()
	live, ok := d.apps[appID]
	current := ok && live.revision == rev
	d.mu.Unlock()
	if current {
		return nil
	}
	return d.AppChanged(ctx, appID)
}

// target finds the router of call's app and the id of its script; ok is
// false when either is not deployed here.
func (d *Deployer) target(call Call) (router *actor.PID, scriptID int64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	live, deployed := d.apps[call.AppID]
	if !deployed {
		return nil, 0, false
	}
	scriptID = call.ScriptID
	if scriptID == 0 {
		scriptID = live.names[call.Script]
	}
	return live.ingress.Router, scriptID, scriptID != 0
}

// invocationRecord is the invocation log's record of call.
func invocationRecord(call Call, res *actors.Result, elapsed time.Duration) models.Invocation {
	req := call.Request
	errText := ""
	if res.ErrCode != "" {
		errText = res.ErrCode + ": " + res.ErrMessage
	}
	status := res.Status
	if status == 0 {
		status = 200
	}
	return models.Invocation{
		RequestID: req.RequestID, AppID: call.AppID, ScriptID: res.ScriptID, Version: res.Version,
		Method: req.Method, Path: req.Path, Status: status, DurationUS: elapsed.Microseconds(),
		Output: res.Output, Error: errText, CreatedAt: time.Now().UTC(),
		Trigger: req.Trigger, Fetches: InvocationFetches(res.Fetches),
		Node: res.Node,
	}
}

// InvocationFetches converts a call's fetches for its invocation record.
func InvocationFetches(in []actors.FetchRecord) models.Fetches {
	if len(in) == 0 {
		return ""
	}
	out := make([]models.InvocationFetch, len(in))
	for i, f := range in {
		out[i] = models.InvocationFetch(f)
	}
	return models.NewFetches(out)
}
