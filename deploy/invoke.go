package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
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
	d.mu.Lock()
	live, ok := d.apps[call.AppID]
	var router *actor.PID
	if ok {
		router = live.ingress.Router
	}
	scriptID := call.ScriptID
	if ok && scriptID == 0 {
		scriptID = live.names[call.Script]
	}
	d.mu.Unlock()
	switch {
	case !ok:
		return actors.Result{Status: 503, ErrCode: actors.CodeUnavailable, ErrMessage: fmt.Sprintf("app %d is not deployed", call.AppID)}
	case scriptID == 0:
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
		Trigger: req.Trigger, Fetches: ingress.InvocationFetches(res.Fetches),
	}
}
