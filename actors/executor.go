package actors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"net/url"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/route"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// loadTimeout bounds compiling a script (and running its package
// initialisers) in an executor.
const loadTimeout = 10 * time.Second

// executorConfig is what an executor is started with; it survives the
// executor's restarts.
type executorConfig struct {
	id     uint64
	script ScriptVersion
	app    string
	limits Limits
	logger *slog.Logger
	engine Engine
	// hosts opens the Host of each call; appID scopes it. nil: the
	// script's SDK v2 calls answer sdk.ErrNoHost.
	hosts HostProvider
	appID int64
	// router and root are where a request that reaches the executor
	// after it stopped is sent back to (see returnLateJob).
	router *actor.PID
	root   *actor.RootContext
}

// discardInstance is the panic value an executor fails with after a
// call left its interpreter unusable (the script panicked or ran out of
// time). The Result has been sent by then; the supervisor restarts the
// executor, which builds a fresh interpreter.
type discardInstance struct {
	script  ScriptVersion
	timeout bool
	cause   error
}

func (d discardInstance) String() string {
	what := "panicked"
	if d.timeout {
		what = "timed out"
	}
	return fmt.Sprintf("script %d version %d %s: %v", d.script.ScriptID, d.script.Version, what, d.cause)
}

// executor is the actor that owns one compiled interpreter of one script
// version and runs one request at a time on it. It answers the Invoke's
// Reply itself and then tells its router it is idle.
type executor struct {
	cfg       executorConfig
	idle      *executorIdle
	afterlife *afterlife

	inst    Instance
	loadErr error
	// ctx lives as long as inst; timer cancels it when a call overruns.
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer

	req requestBuffer
}

func executorProps(cfg executorConfig, d actor.Dispatcher) *actor.Props {
	idle := &executorIdle{id: cfg.id}
	after := &afterlife{handle: returnLateJob(cfg.root, cfg.router)}
	return actor.PropsFromProducer(func() actor.Actor {
		return &executor{cfg: cfg, idle: idle, afterlife: after}
	}, actor.WithDispatcher(d), actor.WithMailbox(func() actor.Mailbox { return newBatchMailbox(after) }))
}

// returnLateJob sends the Invoke of a job that reached a stopped
// executor back to its router, to be routed again. The router only stops
// idle executors, so this happens when the router itself restarts and
// protoactor stops its executors under their pending jobs.
func returnLateJob(root *actor.RootContext, router *actor.PID) func(any) {
	return func(msg any) {
		if job, ok := msg.(*execute); ok {
			root.Send(router, job.inv)
		}
	}
}

// Receive implements actor.Actor.
func (e *executor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *execute:
		e.execute(ctx, msg)
	case *actor.Started:
		e.load()
	case *actor.Restarting, *actor.Stopping:
		e.unload()
	case *actor.Stopped:
		e.afterlife.gone.Store(true)
	}
}

// load compiles the script into a fresh interpreter. A failure is kept
// and answered to every request.
func (e *executor) load() {
	ctx, cancel := context.WithCancel(context.Background())
	overrun := time.AfterFunc(loadTimeout, cancel)
	inst, err := e.cfg.engine.Load(ctx, e.cfg.app, e.cfg.script, sandbox.Options{
		MaxOutput: e.cfg.limits.MaxOutput, MaxResponseBody: e.cfg.limits.MaxResponseBody})
	if !overrun.Stop() {
		if err == nil {
			inst.Close()
		}
		err = fmt.Errorf("compiling took longer than %s", loadTimeout)
	}
	if err != nil {
		cancel()
		e.loadErr = fmt.Errorf("load script %d version %d: %w", e.cfg.script.ScriptID, e.cfg.script.Version, err)
		e.cfg.logger.Warn("executor could not load its script", slog.String("app", e.cfg.app), slog.Any("error", err))
		return
	}
	e.inst, e.ctx, e.cancel, e.loadErr = inst, ctx, cancel, nil
	e.timer = time.AfterFunc(time.Hour, cancel)
	e.timer.Stop()
}

// newInstance is sandbox.New, with a panic turned into an error: a panic
// while loading would otherwise make the supervisor restart the executor
// in a loop.
func newInstance(ctx context.Context, source string, opts sandbox.Options) (inst *sandbox.Instance, err error) {
	defer func() {
		if v := recover(); v != nil {
			inst, err = nil, fmt.Errorf("sandbox panicked while compiling: %v", v)
		}
	}()
	return sandbox.New(ctx, source, opts)
}

func (e *executor) unload() {
	if e.timer != nil {
		e.timer.Stop()
	}
	if e.cancel != nil {
		e.cancel()
	}
	if e.inst != nil {
		e.inst.Close()
	}
	e.inst, e.ctx, e.cancel, e.timer = nil, nil, nil, nil
}

// execute runs one request, answers it and reports idle to the router.
// When the interpreter is no longer usable it then fails on purpose, so
// that its supervisor restarts it with a fresh one.
func (e *executor) execute(ctx actor.Context, job *execute) {
	answered := false
	defer func() {
		// Whatever happened, the router must hear that this executor is
		// free again, or it would count it busy for ever.
		ctx.Send(ctx.Parent(), e.idle)
		if v := recover(); v != nil {
			if !answered {
				job.inv.Reply.Send(Result{Status: 500, ErrCode: CodeInternal,
					ErrMessage: fmt.Sprintf("executor failed: %v", v)})
			}
			panic(v)
		}
	}()
	res, discard := e.call(job)
	if discard != nil {
		// The router counts crashes to park a script that keeps crashing.
		// It hears of this one before the caller does, so a request sent
		// after the answer already finds the script parked.
		ctx.Send(ctx.Parent(), &executorCrashed{id: e.cfg.id, timeout: discard.timeout, cause: discard.String()})
	}
	job.inv.Reply.Send(res)
	answered = true
	if discard != nil {
		panic(*discard)
	}
}

// call runs the script on job's request and returns the Result, plus a
// reason to discard the interpreter when it must not be reused.
//
// The time limit cancels the interpreter's context: the sandbox then
// stops the call at once, and the interpreter is replaced.
func (e *executor) call(job *execute) (res Result, discard *discardInstance) {
	res = Result{RouteID: job.routeID, ScriptID: e.cfg.script.ScriptID, Version: e.cfg.script.Version}
	if e.inst == nil && errors.Is(e.loadErr, ErrWorkerCrashed) {
		// The worker was down when this executor started: try again.
		e.load()
	}
	if e.inst == nil && errors.Is(e.loadErr, ErrWorkerCrashed) {
		res.Status, res.ErrCode, res.ErrMessage = 502, CodeCrashed, e.loadErr.Error()
		return res, nil
	}
	if e.inst == nil {
		res.Status, res.ErrCode, res.ErrMessage = 500, CodeLoadFailed, e.loadErrMessage()
		return res, nil
	}
	req := e.req.fill(job.inv.Request, job.params, e.cfg.app)
	ctx, host := e.openHost(job.inv.Request)
	e.timer.Reset(e.cfg.limits.Timeout)
	out := e.inst.Call(ctx, req)
	timedOut := !e.timer.Stop()
	e.req.release()
	res.Output, res.Duration = out.Output, out.Duration
	if host != nil {
		// Whatever the call printed or panicked with, its secrets are
		// masked before the record is written.
		defer func() { res.ErrMessage = host.Mask(res.ErrMessage) }()
		res.Output, res.Fetches = host.Mask(res.Output), host.Fetches()
	}
	switch {
	case timedOut:
		res.Status, res.ErrCode = 504, CodeTimeout
		res.ErrMessage = fmt.Sprintf("script ran longer than its time limit of %s", e.cfg.limits.Timeout)
		return res, &discardInstance{script: e.cfg.script, timeout: true, cause: context.DeadlineExceeded}
	case errors.Is(out.Err, ErrWorkerCrashed):
		res.Status, res.ErrCode = 502, CodeCrashed
		res.ErrMessage = fmt.Sprintf("script %d version %d: %v", e.cfg.script.ScriptID, e.cfg.script.Version, out.Err)
		return res, &discardInstance{script: e.cfg.script, cause: out.Err}
	case out.Panic != nil:
		res.Status, res.ErrCode = 500, CodePanic
		res.ErrMessage = "script panicked: " + panicMessage(out.Panic)
		return res, &discardInstance{script: e.cfg.script, cause: out.Panic}
	case errors.Is(out.Err, sandbox.ErrResponseTooLarge):
		res.Status, res.ErrCode = 500, CodeTooLarge
		res.ErrMessage = fmt.Sprintf("script %q: %v", e.cfg.script.Name, out.Err)
		return res, nil
	case out.Err != nil:
		res.Status, res.ErrCode = 500, CodeInternal
		res.ErrMessage = fmt.Sprintf("script %d version %d was not called: %v", e.cfg.script.ScriptID, e.cfg.script.Version, out.Err)
		return res, &discardInstance{script: e.cfg.script, cause: out.Err}
	}
	res.Status = out.Response.Status
	res.Headers = resultHeaders(out.Response.Headers)
	res.Body = out.Response.Body
	return res, nil
}

// openHost opens the Host of a call of r and returns the context to call
// the script with; without a HostProvider, the executor's own.
func (e *executor) openHost(r *Request) (context.Context, CallHost) {
	if e.cfg.hosts == nil {
		return e.ctx, nil
	}
	host := e.cfg.hosts.Open(CallScope{
		AppID: e.cfg.appID, App: e.cfg.app, ScriptID: e.cfg.script.ScriptID, Script: e.cfg.script.Name,
		RequestID: r.RequestID, Trigger: cmp.Or(r.Trigger, sdk.TriggerHTTP), Depth: r.Depth,
	})
	return sdk.WithHost(e.ctx, host), host
}

// panicMessage is the panic value and where the script raised it.
func panicMessage(err error) string {
	var pe *sandbox.PanicError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	if pe.Line == 0 {
		return pe.Value
	}
	return fmt.Sprintf("%s (line %d, column %d)", pe.Value, pe.Line, pe.Column)
}

func (e *executor) loadErrMessage() string {
	if e.loadErr == nil {
		return "script is not loaded"
	}
	var ce *sandbox.CompileError
	if errors.As(e.loadErr, &ce) {
		return "script does not compile: " + ce.Error()
	}
	return e.loadErr.Error()
}

// requestBuffer is an executor's script request, reused for every call:
// the sandbox hands the script a deep copy, so nothing of it outlives
// the call.
type requestBuffer struct {
	req     sdk.Request
	params  map[string]string
	headers map[string]string
}

// fill makes the buffer the script's view of r and returns it.
func (b *requestBuffer) fill(r *Request, params route.Params, app string) *sdk.Request {
	req := &b.req
	req.Method, req.Path, req.Host = r.Method, r.Path, r.Host
	req.DomainParams, req.Body, req.RequestID, req.App = r.DomainParams, r.Body, r.RequestID, app
	req.Trigger = cmp.Or(r.Trigger, sdk.TriggerHTTP)
	req.Params = nil // nil rather than empty: the sandbox copies it for free
	if len(params) > 0 {
		b.params = emptied(b.params)
		for _, p := range params {
			b.params[p.Key] = p.Value
		}
		req.Params = b.params
	}
	req.Query = nil
	if r.RawQuery != "" {
		// A malformed pair is skipped; the well-formed ones are kept.
		req.Query, _ = url.ParseQuery(r.RawQuery)
	}
	req.Headers = nil
	if len(r.Headers) > 0 {
		b.headers = emptied(b.headers)
		for _, h := range r.Headers {
			name := textproto.CanonicalMIMEHeaderKey(h.Name)
			if prev, ok := b.headers[name]; ok {
				b.headers[name] = prev + ", " + h.Value
			} else {
				b.headers[name] = h.Value
			}
		}
		req.Headers = b.headers
	}
	return req
}

// release drops the buffer's references to the last request (its body
// above all) while the executor waits for the next one.
func (b *requestBuffer) release() { b.req = sdk.Request{} }

// emptied returns m cleared, or a new map when m is nil.
func emptied(m map[string]string) map[string]string {
	if m == nil {
		return make(map[string]string)
	}
	clear(m)
	return m
}

// resultHeaders turns a script's header map into a list sorted by name.
func resultHeaders(h map[string]string) []Header {
	if len(h) == 0 {
		return nil
	}
	out := make([]Header, 0, len(h))
	for name, value := range h {
		out = append(out, Header{Name: name, Value: value})
	}
	slices.SortFunc(out, func(a, b Header) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
