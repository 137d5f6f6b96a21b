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
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/route"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// loadTimeout bounds compiling a script (and running its package
// initialisers) in an executor.
const loadTimeout = 10 * time.Second

// maxInstanceLost is how many times a call whose instance was gone
// before the call reached it (nothing ran) is run again on a fresh
// load. More than once: in a cluster the fresh load may land on an
// executor slot that moves again (a node leaving or coming back).
const maxInstanceLost = 3

// executorConfig is what an executor is started with; it survives the
// executor's restarts.
type executorConfig struct {
	id     uint64
	slot   int // engine.Script.Slot of the loads
	script ScriptVersion
	appID  int64
	app    string // the slug: what the script sees as req.App, and logs
	limits Limits
	logger *slog.Logger
	engine engine.Engine
	// hosts opens the Host of each call, scoped to appID; nil: the
	// script's SDK v2 calls answer sdk.ErrNoHost.
	hosts HostProvider
	// router and root are where a request that reaches the executor
	// after it stopped is sent back to (see returnLateJob).
	router *actor.PID
	root   *actor.RootContext
}

// discardInstance is the panic value an executor fails with after a
// call left its interpreter unusable: the script panicked, ran out of
// time or killed its worker process. Its router, the executor's
// supervisor, counts the crash against the script version (parking.go),
// then answers the request with res and restarts the executor, which
// builds a fresh interpreter (supervision.go).
type discardInstance struct {
	script  ScriptVersion
	res     Result
	timeout bool
	// fatal: the call (or the load before it) killed the worker process,
	// and every call in flight in it.
	fatal bool
	cause error
}

func (d *discardInstance) String() string {
	what := "panicked"
	switch {
	case d.fatal:
		what = "killed its worker"
	case d.timeout:
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
	// ready is the idle message of this incarnation after a started call
	// ended well: it offers the router to start the next call itself.
	ready *executorIdle

	inst engine.Instance
	// starter is inst when its calls can complete on a callback
	// (engine.Starter: a worker process's instance): the executor then
	// sends the call and returns, and the worker connection's reader
	// answers the request and tells the router the executor is idle, so
	// no goroutine waits for the worker. nil: calls block in Call.
	starter engine.Starter
	// flight is the call in flight on starter; done (complete, bound
	// once) settles it. state says whether one is in flight, and whether
	// the executor stopped under it (orphan then holds the instance, for
	// complete to close).
	flight flight
	done   func(sandbox.Result)
	state  atomic.Int32
	orphan atomic.Pointer[orphan]
	self   *actor.PID

	loadErr error
	// reload: loadErr is passing (the worker was down or slow), so the
	// next call loads again. fatalLoad: the load killed the worker; the
	// next call reports it as a crash and the executor restarts.
	reload, fatalLoad bool
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
		e := &executor{cfg: cfg, idle: idle, afterlife: after}
		e.ready = &executorIdle{id: cfg.id, direct: e}
		e.done = e.complete
		return e
	}, actor.WithDispatcher(d), actor.WithMailbox(func() actor.Mailbox { return newBatchMailbox(after) }))
}

// returnLateJob sends the Invoke of a job that reached a stopped
// executor back to its router, to be routed again. The router only stops
// idle executors, so this happens when the router itself restarts and
// protoactor stops its executors under their pending jobs. A call that
// ended after its executor stopped is answered as it ended.
func returnLateJob(root *actor.RootContext, router *actor.PID) func(any) {
	return func(msg any) {
		switch msg := msg.(type) {
		case *execute:
			root.Send(router, msg.inv)
		case *callOver:
			msg.job.inv.Reply.Send(msg.res)
		}
	}
}

// flight is the call an executor sent to its starter: what completing
// it needs. The executor fills it before Start; complete reads and
// clears it on the goroutine that settles the call.
type flight struct {
	job   *execute
	host  CallHost
	timer *time.Timer
}

// States of an executor's started call.
const (
	callNone     int32 = iota // no call in flight
	callFlying                // a call in flight
	callOrphaned              // a call in flight, its executor stopped
)

// orphan is what an executor that stopped under its call in flight
// leaves to the call's callback to release.
type orphan struct {
	inst   engine.Instance
	cancel context.CancelFunc
}

// callOver is what a started call's callback sends its executor when
// the call ended in a way only the executor's actor may handle: the
// interpreter is to be discarded (a crash the router counts, through
// supervision), the instance was lost before the call reached it (the
// executor loads the script again and retries), or the Invoke has no
// Reply (a caller's bug, which fails the executor as it always did).
type callOver struct {
	job     *execute
	res     Result
	discard *discardInstance
	lost    bool
}

// Receive implements actor.Actor.
func (e *executor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *execute:
		e.execute(ctx, msg, false)
	case *callOver:
		e.callOver(ctx, msg)
	case *actor.Started:
		e.self = ctx.Self()
		e.load(loadTimeout)
	case *actor.Restarting, *actor.Stopping:
		e.unload()
	case *actor.Stopped:
		e.afterlife.gone.Store(true)
	}
}

// load compiles the script into a fresh interpreter within d. A failure
// is kept and answered to every request, but for a worker that was down
// or slow (reload) and a load that killed its worker (fatalLoad).
func (e *executor) load(d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	overrun := time.AfterFunc(d, cancel)
	script := e.cfg.script.Script
	script.Slot = e.cfg.slot
	inst, err := e.cfg.engine.Load(ctx, engine.AppRef{ID: e.cfg.appID, Slug: e.cfg.app}, script, sandbox.Options{
		MaxOutput: e.cfg.limits.MaxOutput, MaxResponseBody: e.cfg.limits.MaxResponseBody})
	timedOut := !overrun.Stop()
	if timedOut {
		if err == nil {
			inst.Close()
		}
		err = fmt.Errorf("compiling took longer than %s", d)
	}
	e.fatalLoad = errors.Is(err, engine.ErrCausedCrash)
	e.reload = !e.fatalLoad && (timedOut || errors.Is(err, engine.ErrWorkerCrashed))
	if err != nil {
		cancel()
		e.loadErr = fmt.Errorf("load script %d version %d: %w", e.cfg.script.ScriptID, e.cfg.script.Version, err)
		e.cfg.logger.Warn("executor could not load its script", slog.String("app", e.cfg.app), slog.Any("error", err))
		return
	}
	e.inst, e.ctx, e.cancel, e.loadErr = inst, ctx, cancel, nil
	e.starter, _ = inst.(engine.Starter)
	starter := e.starter
	e.timer = time.AfterFunc(time.Hour, func() {
		cancel()
		if starter != nil {
			starter.Abandon() // nobody waits on ctx for a started call
		}
	})
	e.timer.Stop()
}

func (e *executor) unload() {
	if e.inst != nil && e.state.Load() == callFlying {
		// Stopped under a started call (its router restarts): the call
		// runs to its end as a blocked Call would, and its callback
		// answers it, then releases the instance.
		e.orphan.Store(&orphan{inst: e.inst, cancel: e.cancel})
		if e.state.CompareAndSwap(callFlying, callOrphaned) {
			e.inst, e.starter, e.ctx, e.cancel, e.timer = nil, nil, nil, nil, nil
			return
		}
		e.orphan.Store(nil) // it ended meanwhile
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	if e.cancel != nil {
		e.cancel()
	}
	if e.inst != nil {
		e.inst.Close()
	}
	e.inst, e.starter, e.ctx, e.cancel, e.timer = nil, nil, nil, nil, nil
}

// execute runs one request, answers it and reports idle to the router.
// When the interpreter is no longer usable it fails instead: its router,
// as its supervisor, counts the crash, answers the request (so that a
// request sent after the answer already finds the script parked) and
// restarts it with a fresh interpreter. Should it fail for any other
// reason, the router answers the request too.
func (e *executor) execute(ctx actor.Context, job *execute, retried bool) {
	if e.inst == nil && e.reload {
		// The worker was down when this executor loaded: wait for it as
		// long as a queued request would wait.
		e.load(e.cfg.limits.QueueTimeout)
	}
	if e.starter != nil {
		e.start(job, retried)
		return
	}
	res, discard := e.call(job)
	e.finish(ctx, job, res, discard)
}

// finish answers job with res, or fails with discard.
func (e *executor) finish(ctx actor.Context, job *execute, res Result, discard *discardInstance) {
	if discard != nil {
		discard.res = res
		panic(discard)
	} else if res.ErrCode == CodeLoadFailed {
		// Counted before the caller hears of it, like a crash.
		ctx.Send(ctx.Parent(), &scriptLoadFailed{id: e.cfg.id, cause: res.ErrMessage})
	}
	job.inv.Reply.Send(res)
	ctx.Send(ctx.Parent(), e.idle)
}

// start sends job's call to the starter within the time limit and
// returns; complete settles it. It runs on the executor's actor, or on
// its router's when the executor offered it (executorIdle.direct): the
// executor then touches none of its state until its next message, and
// the router's starting the call skips the hand-off to the executor's
// mailbox and goroutine.
func (e *executor) start(job *execute, retried bool) {
	req := e.req.fill(job.inv.Request, job.params, e.cfg.app)
	host := e.openHost(job.inv.Request)
	ctx := e.ctx
	if host != nil {
		ctx = sdk.WithHost(ctx, host)
	}
	e.flight = flight{job: job, host: host, timer: e.timer}
	job.retried = retried
	e.state.Store(callFlying)
	e.timer.Reset(e.cfg.limits.Timeout)
	e.starter.Start(ctx, req, e.done)
}

// complete settles the call in flight, on the goroutine that learnt its
// outcome (the worker connection's reader, most of the time): a call
// the interpreter survived is answered here and the router told the
// executor is idle, as execute would have; any other outcome goes to the
// executor's actor as a callOver.
func (e *executor) complete(out sandbox.Result) {
	fl := e.flight
	e.flight = flight{}
	timedOut := !fl.timer.Stop()
	e.req.release()
	lost := !fl.job.retried && !timedOut && errors.Is(out.Err, engine.ErrInstanceLost)
	res, discard := e.outcome(e.base(fl.job), out, timedOut, fl.host)
	reply := fl.job.inv.Reply
	if !e.state.CompareAndSwap(callFlying, callNone) {
		// The executor stopped under the call: answer it as it ended
		// (nothing is left to count a crash or retry), release the
		// instance, and tell the router nothing: it forgot the executor.
		if reply != nil {
			reply.Send(res)
		}
		o := e.orphan.Load()
		o.cancel()
		o.inst.Close()
		return
	}
	if discard == nil && !lost && reply != nil {
		// Nothing of e is touched after the router hears of it: its
		// next job may already be starting.
		reply.Send(res)
		e.cfg.root.Send(e.cfg.router, e.ready)
		return
	}
	e.cfg.root.Send(e.self, &callOver{job: fl.job, res: res, discard: discard, lost: lost})
}

// callOver handles a started call that ended in a discard (a crash,
// counted by the router) or that the worker never got (it died before:
// the script is loaded again and the call retried once, as call does).
func (e *executor) callOver(ctx actor.Context, c *callOver) {
	if !c.lost {
		e.finish(ctx, c.job, c.res, c.discard)
		return
	}
	e.unload()
	if e.load(e.cfg.limits.QueueTimeout); e.inst == nil {
		res, discard := e.loadFailed(e.base(c.job))
		e.finish(ctx, c.job, res, discard)
		return
	}
	e.execute(ctx, c.job, true)
}

// base is the Result of job before the call fills it in.
func (e *executor) base(job *execute) Result {
	return Result{RouteID: job.routeID, ScriptID: e.cfg.script.ScriptID, Version: e.cfg.script.Version}
}

// call runs the script on job's request and returns the Result, plus a
// reason to discard the interpreter when it must not be reused.
//
// The time limit cancels the interpreter's context: the sandbox then
// stops the call at once, and the interpreter is replaced.
func (e *executor) call(job *execute) (res Result, discard *discardInstance) {
	res = e.base(job)
	if e.inst == nil {
		return e.loadFailed(res)
	}
	req := e.req.fill(job.inv.Request, job.params, e.cfg.app)
	host := e.openHost(job.inv.Request)
	out, timedOut := e.run(req, host)
	for try := 1; errors.Is(out.Err, engine.ErrInstanceLost) && try <= maxInstanceLost; try++ {
		// The instance was gone before this call reached it (another
		// script crashed the worker; its executor slot moved to another
		// node): nothing ran. Run it on a fresh load.
		e.unload()
		if e.load(e.cfg.limits.QueueTimeout); e.inst == nil {
			e.req.release()
			return e.loadFailed(res)
		}
		out, timedOut = e.run(req, host)
	}
	e.req.release()
	return e.outcome(res, out, timedOut, host)
}

// outcome is the Result of a call that ended with out, plus a reason to
// discard the interpreter when it must not be reused. Whatever the call
// printed or panicked with, the secrets it read are masked before
// anything records it.
func (e *executor) outcome(res Result, out sandbox.Result, timedOut bool, host CallHost) (Result, *discardInstance) {
	res, discard := e.judge(res, out, timedOut)
	if host != nil {
		res.Output, res.ErrMessage = host.Mask(res.Output), host.Mask(res.ErrMessage)
		res.Fetches = host.Fetches()
	}
	return res, discard
}

// judge fills res in from out.
func (e *executor) judge(res Result, out sandbox.Result, timedOut bool) (Result, *discardInstance) {
	res.Output, res.Duration, res.Node = out.Output, out.Duration, out.Node
	switch {
	case timedOut:
		res.Status, res.ErrCode = 504, CodeTimeout
		res.ErrMessage = fmt.Sprintf("script ran longer than its time limit of %s", e.cfg.limits.Timeout)
		return res, &discardInstance{script: e.cfg.script, timeout: true, cause: context.DeadlineExceeded}
	case errors.Is(out.Err, engine.ErrNoExecutor):
		// Nowhere to run it now (no executor member is alive): it counts
		// against nobody.
		res.Status, res.ErrCode, res.ErrMessage, res.RetryAfter = 503, CodeNoExecutor, out.Err.Error(), noExecutorRetry
		return res, nil
	case errors.Is(out.Err, engine.ErrCausedCrash):
		res.Status, res.ErrCode = 502, CodeCrashed
		res.ErrMessage = fmt.Sprintf("script %d version %d: %v", e.cfg.script.ScriptID, e.cfg.script.Version, out.Err)
		return res, &discardInstance{script: e.cfg.script, fatal: true, cause: out.Err}
	case errors.Is(out.Err, engine.ErrExecutorLost):
		// The node running the script went away under the call: it
		// fails, counts against nobody, and the next call loads the
		// script again on a live node.
		res.Status, res.ErrCode = 502, CodeExecutorLost
		res.ErrMessage = fmt.Sprintf("script %d version %d: %v", e.cfg.script.ScriptID, e.cfg.script.Version, out.Err)
		return res, nil
	case errors.Is(out.Err, engine.ErrWorkerCrashed):
		// Another call crashed the worker under this one: it fails, but
		// counts against nobody. The next call loads the script again.
		res.Status, res.ErrCode = 502, CodeCrashed
		res.ErrMessage = fmt.Sprintf("script %d version %d: %v", e.cfg.script.ScriptID, e.cfg.script.Version, out.Err)
		return res, nil
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
	res.Headers = append(resultHeaders(out.Response.Headers), addedHeaders(out.Response.Added)...)
	res.Body = out.Response.Body
	return res, nil
}

// noExecutorRetry is the Retry-After of a call no executor could take.
const noExecutorRetry = time.Second

// loadFailed is the answer to a call when the script is not loaded: a
// 503 while no executor can take it (a cluster without a live executor
// member), a 502 while its worker is down (or when its load killed the
// worker: a crash of the script), else a 500 with the load error.
func (e *executor) loadFailed(res Result) (Result, *discardInstance) {
	if !e.reload && !e.fatalLoad {
		res.Status, res.ErrCode, res.ErrMessage = 500, CodeLoadFailed, e.loadErrMessage()
		return res, nil
	}
	if errors.Is(e.loadErr, engine.ErrNoExecutor) {
		res.Status, res.ErrCode, res.ErrMessage = 503, CodeNoExecutor, e.loadErr.Error()
		res.RetryAfter = noExecutorRetry
		return res, nil
	}
	res.Status, res.ErrCode, res.ErrMessage = 502, CodeCrashed, e.loadErr.Error()
	if errors.Is(e.loadErr, engine.ErrExecutorLost) {
		res.ErrCode = CodeExecutorLost
	}
	if e.fatalLoad {
		return res, &discardInstance{script: e.cfg.script, fatal: true, cause: e.loadErr}
	}
	return res, nil
}

// run calls the script within its time limit, its SDK v2 calls going to
// host.
func (e *executor) run(req *sdk.Request, host CallHost) (out sandbox.Result, timedOut bool) {
	ctx := e.ctx
	if host != nil {
		ctx = sdk.WithHost(ctx, host)
	}
	e.timer.Reset(e.cfg.limits.Timeout)
	out = e.inst.Call(ctx, req)
	return out, !e.timer.Stop()
}

// openHost opens the Host of a call of r; nil without a HostProvider.
func (e *executor) openHost(r *Request) CallHost {
	if e.cfg.hosts == nil {
		return nil
	}
	return e.cfg.hosts.Open(CallScope{
		AppID: e.cfg.appID, App: e.cfg.app, ScriptID: e.cfg.script.ScriptID, Script: e.cfg.script.Name,
		RequestID: r.RequestID, Trigger: cmp.Or(r.Trigger, sdk.TriggerHTTP), Depth: r.Depth,
	})
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
	sdk.SetHeaderValues(req, nil)
	if len(r.Headers) > 0 {
		b.headers = emptied(b.headers)
		for _, h := range r.Headers {
			name := textproto.CanonicalMIMEHeaderKey(h.Name)
			if prev, ok := b.headers[name]; ok {
				b.headers[name] = prev + ", " + h.Value
				repeatedHeader(req, r.Headers, name)
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

// repeatedHeader gives req every value of name, a header the client sent
// more than once, for HeaderValues. Rare, so not pooled.
func repeatedHeader(req *sdk.Request, hs []Header, name string) {
	m := sdk.HeaderValuesOf(req)
	if _, done := m[name]; done {
		return
	}
	if m == nil {
		m = make(map[string][]string)
		sdk.SetHeaderValues(req, m)
	}
	var vs []string
	for _, h := range hs {
		if textproto.CanonicalMIMEHeaderKey(h.Name) == name {
			vs = append(vs, h.Value)
		}
	}
	m[name] = vs
}

// addedHeaders are the headers a script added (AddHeader, SetCookie), in
// its order, sent after its Headers.
func addedHeaders(hs []sdk.Header) []Header {
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = Header{Name: h.Name, Value: h.Value}
	}
	return out
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
