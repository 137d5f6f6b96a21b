package executors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

const (
	// maxLoad bounds a remote load when its caller gave no deadline
	// (the executor's own load timeout is 10 s).
	maxLoad = 15 * time.Second
	// controlTimeout bounds a Cancel or Unload, sent in the background.
	controlTimeout = 2 * time.Second
)

// Engine is the engine.Engine of a node in a cluster: each instance is
// loaded on the member that owns its slot's identity, through local when
// that is this node.
type Engine struct {
	node    *cluster.Node
	local   engine.Engine
	logger  *slog.Logger
	metrics *cluster.Metrics // nil: not counted
	hosts   *hostCalls       // serves the host calls of this node's remote calls

	mu    sync.RWMutex
	calls map[string]*atomic.Int64 // calls run, by node name
}

var _ engine.Engine = (*Engine)(nil)

// New is the Engine of node, whose own instances come from local.
func New(node *cluster.Node, local engine.Engine, logger *slog.Logger) *Engine {
	return &Engine{node: node, local: local, logger: logger, calls: map[string]*atomic.Int64{},
		hosts: newHostCalls(node.System())}
}

// WithMetrics makes e count every call it sends to another node in m
// (outcome and latency). Call it before the first Load.
func (e *Engine) WithMetrics(m *cluster.Metrics) *Engine {
	e.metrics = m
	return e
}

// Identity is the identity of a script version's executor slot in app.
func Identity(app engine.AppRef, script engine.Script) string {
	return strconv.FormatInt(app.ID, 10) + "/" + strconv.FormatInt(script.ScriptID, 10) + "/" +
		strconv.FormatInt(script.Version, 10) + "/" + strconv.Itoa(script.Slot)
}

// Load implements engine.Engine.
func (e *Engine) Load(ctx context.Context, app engine.AppRef, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	id := Identity(app, script)
	owner, ok := e.node.Owner(Kind, id)
	if !ok {
		// No executor member now: the executor loads again on its next
		// call, by when one may have joined.
		return nil, lost(fmt.Errorf("place executor %s: %w: %w", id, cluster.ErrNoMember, engine.ErrNoExecutor))
	}
	if owner == e.node.Name() {
		inst, err := e.local.Load(ctx, app, script, opts)
		if err != nil {
			return nil, err
		}
		return newLocalInstance(inst, e.counter(owner)), nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxLoad)
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	handle := rand.Uint64()
	res, err := e.node.Request(ctx, Kind, id, &Load{
		Handle: handle, AppId: app.ID, AppSlug: app.Slug,
		ScriptId: script.ScriptID, Name: script.Name, Version: script.Version,
		Source: script.Source, Hash: script.Hash, Slot: int64(script.Slot),
		MaxOutput: int64(opts.MaxOutput), MaxResponseBody: int64(opts.MaxResponseBody),
		BudgetNs: int64(time.Until(dl)),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("load %s on %s: %w", id, owner, ctx.Err())
		}
		return nil, lost(fmt.Errorf("load %s on %s: %w", id, owner, err))
	}
	l, ok := res.(*Loaded)
	switch {
	case !ok:
		return nil, fmt.Errorf("load %s on %s: answered %T: %w", id, owner, res, engine.ErrWorkerCrashed)
	case l.GetFailure() != Failure_FAILURE_NONE:
		return nil, fmt.Errorf("load %s on %s: %w", id, owner, failureError(l.GetFailure(), l.GetMessage()))
	case l.GetError() != nil:
		return nil, l.GetError().Err()
	}
	return &remoteInstance{e: e, id: id, owner: owner, handle: handle, calls: e.counter(owner)}, nil
}

// Calls is how many calls this node's executors ran on each node
// (itself included), for metrics and tests.
func (e *Engine) Calls() map[string]int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[string]int64, len(e.calls))
	for name, n := range e.calls {
		out[name] = n.Load()
	}
	return out
}

func (e *Engine) counter(node string) *atomic.Int64 {
	e.mu.RLock()
	c := e.calls[node]
	e.mu.RUnlock()
	if c != nil {
		return c
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c = e.calls[node]; c == nil {
		c = new(atomic.Int64)
		e.calls[node] = c
	}
	return c
}

// localInstance is an instance of the local engine: the fast path.
type localInstance struct {
	engine.Instance
	calls *atomic.Int64
}

// newLocalInstance wraps inst, keeping what it implements: a local
// worker's instance stays an engine.Starter, so the executor starts its
// calls and the worker's answer completes them, as without a cluster.
func newLocalInstance(inst engine.Instance, calls *atomic.Int64) engine.Instance {
	l := &localInstance{Instance: inst, calls: calls}
	if s, ok := inst.(engine.Starter); ok {
		return &localStarter{localInstance: l, starter: s}
	}
	return l
}

func (in *localInstance) Call(ctx context.Context, req *sdk.Request) sandbox.Result {
	in.calls.Add(1)
	return in.Instance.Call(ctx, req)
}

// localStarter is a localInstance of an engine.Starter.
type localStarter struct {
	*localInstance
	starter engine.Starter
}

var _ engine.Starter = (*localStarter)(nil)

// Start implements engine.Starter.
func (in *localStarter) Start(ctx context.Context, req *sdk.Request, done func(sandbox.Result)) {
	in.calls.Add(1)
	in.starter.Start(ctx, req, done)
}

// Abandon implements engine.Starter.
func (in *localStarter) Abandon() { in.starter.Abandon() }

// remoteInstance is an instance held by the executor activation of id on
// owner.
type remoteInstance struct {
	e      *Engine
	id     string
	owner  string
	handle uint64
	calls  *atomic.Int64
	closed atomic.Bool
}

// Call implements engine.Instance. It waits as long as ctx lets it (the
// executor cancels ctx at its time limit; the owner is then told to stop
// the script) or until the owner is gone.
func (in *remoteInstance) Call(ctx context.Context, req *sdk.Request) sandbox.Result {
	if in.closed.Load() {
		return sandbox.Result{Err: sandbox.ErrClosed}
	}
	start := time.Now()
	res, failed := in.call(ctx, req)
	// Whatever came of it, the owner was asked: the record names it.
	res.Node = in.owner
	in.e.metrics.ObserveRemoteCall(time.Since(start), failed)
	return res
}

// call sends one call to the owner. failed is the error of a call that
// failed between the nodes (no answer, though the caller's ctx allowed
// one, or an answer of the wrong type); nil for any answer of the owner,
// and when the caller's ctx ended first.
func (in *remoteInstance) call(ctx context.Context, req *sdk.Request) (_ sandbox.Result, failed error) {
	in.calls.Add(1)
	start := time.Now()
	rctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, maxRemoteCall)
		defer cancel()
	}
	dl, _ := rctx.Deadline()
	msg := &Call{Handle: in.handle, Request: worker.WireRequest(req), BudgetNs: int64(time.Until(dl))}
	if host := sdk.HostFrom(ctx); host != nil {
		// The script's host calls come back here, to the Host the
		// executor opened for the call, within the caller's time.
		ref, done := in.e.hosts.register(rctx, host)
		defer done()
		msg.Host = ref
	}
	res, err := in.e.node.Request(rctx, Kind, in.id, msg)
	if err != nil {
		if ctx.Err() != nil {
			in.control(&Cancel{Handle: in.handle})
			return sandbox.Result{Err: fmt.Errorf("call %s on %s: %w", in.id, in.owner, ctx.Err()), Duration: time.Since(start)}, nil
		}
		if errors.Is(err, cluster.ErrNoMember) {
			// Every executor member is gone: the caller answers 503.
			err = fmt.Errorf("%w: %w", err, engine.ErrNoExecutor)
		}
		err = lost(fmt.Errorf("call %s on %s: %w", in.id, in.owner, err))
		return sandbox.Result{Err: err, Duration: time.Since(start)}, err
	}
	a, ok := res.(*Answer)
	switch {
	case !ok:
		err := fmt.Errorf("call %s on %s: answered %T: %w", in.id, in.owner, res, engine.ErrWorkerCrashed)
		return sandbox.Result{Err: err}, err
	case a.GetFailure() != Failure_FAILURE_NONE:
		return sandbox.Result{Err: fmt.Errorf("call %s on %s: %w", in.id, in.owner, failureError(a.GetFailure(), a.GetMessage()))}, nil
	}
	return a.GetResult().SandboxResult(), nil
}

// Close implements engine.Instance: the owner drops the instance.
func (in *remoteInstance) Close() {
	if in.closed.CompareAndSwap(false, true) {
		in.control(&Unload{Handle: in.handle})
	}
}

// control sends a Cancel or Unload in the background: the caller does
// not wait for a member that may be slow or gone.
func (in *remoteInstance) control(msg any) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
		defer cancel()
		if _, err := in.e.node.Request(ctx, Kind, in.id, msg); err != nil {
			in.e.logger.Debug("executors: control message", slog.String("identity", in.id), slog.Any("err", err))
		}
	}()
}

// lostError is a load or call that failed between the nodes: the owner
// went away (died, or left while the message was on its way), or no
// executor member was there to take it. It reads as what happened and
// is engine.ErrExecutorLost, and so engine.ErrWorkerCrashed: the
// executor answers 502 executor_lost and loads again on its next call.
type lostError struct{ err error }

func lost(err error) error { return &lostError{err: err} }

func (e *lostError) Error() string { return e.err.Error() + ": " + engine.ErrExecutorLost.Error() }
func (e *lostError) Unwrap() []error {
	return []error{e.err, engine.ErrExecutorLost, engine.ErrWorkerCrashed}
}
