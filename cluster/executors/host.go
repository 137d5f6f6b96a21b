package executors

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// Kind is the cluster kind of script executors.
const Kind = "executor"

// maxRemoteCall bounds a call on the owner when its caller gave no
// deadline (the executor's time limit cancels it sooner, with a Cancel).
const maxRemoteCall = 10 * time.Minute

// ClusterKind is the kind to give cluster.Start: its activations, on
// members with the executor role, load scripts through local.
func ClusterKind(local engine.Engine, logger *slog.Logger) cluster.Kind {
	running := new(atomic.Int64) // loads and calls of every activation
	return cluster.Kind{
		Name: Kind,
		Role: config.RoleExecutor,
		Props: actor.PropsFromProducer(func() actor.Actor {
			return &host{local: local, logger: logger, instances: map[uint64]*hosted{}, running: running}
		}),
		Drained: func(ctx context.Context) {
			for running.Load() > 0 && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		},
	}
}

// host is the virtual actor of one identity: it holds the instances the
// callers' executors of that slot loaded (one per calling router) and
// runs their loads and calls on goroutines of their own, so one slow
// call holds up no other caller's.
type host struct {
	local  engine.Engine
	logger *slog.Logger

	mu        sync.Mutex
	instances map[uint64]*hosted
	inflight  sync.WaitGroup
	busy      int           // loads and calls running
	running   *atomic.Int64 // the same, over every activation of the kind
}

type hosted struct {
	inst   engine.Instance
	cancel context.CancelFunc // of the call in flight, if any
}

func (h *host) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Load:
		h.start(ctx, func() any { return h.load(m) })
	case *Call:
		system := ctx.ActorSystem()
		h.start(ctx, func() any { return h.call(system, m) })
	case *Cancel:
		h.mu.Lock()
		if in := h.instances[m.GetHandle()]; in != nil && in.cancel != nil {
			in.cancel()
		}
		h.mu.Unlock()
		ctx.Respond(&Done{})
	case *Unload:
		h.mu.Lock()
		in := h.instances[m.GetHandle()]
		delete(h.instances, m.GetHandle())
		// Only the Unload of the last instance ends the activation: an
		// Unload of a handle never loaded here (the instance was held by
		// the identity's previous owner) comes from a caller that loads
		// again at once, and stopping the activation under that load
		// would lose its instance.
		idle := in != nil && len(h.instances) == 0 && h.busy == 0
		h.mu.Unlock()
		if in != nil {
			if in.cancel != nil {
				in.cancel()
			}
			in.inst.Close()
		}
		ctx.Respond(&Done{})
		if idle {
			// Nothing held: the activation goes; a later Load makes
			// another.
			ctx.Poison(ctx.Self())
		}
	case *actor.Stopping:
		// Moved to another member, or the node leaves. Not waiting here
		// for what runs: protoactor drops, unanswered, a message that
		// reaches the mailbox of an actor while it stops, so a call sent
		// meanwhile would wait out its caller's whole time limit. Ended at
		// once, the activation answers later calls as a dead letter,
		// which their callers place again. What runs finishes behind it
		// and is answered (a leaving node waits for it: Kind.Drained);
		// then the instances close.
		go func() {
			h.inflight.Wait()
			h.mu.Lock()
			for k, in := range h.instances {
				in.inst.Close()
				delete(h.instances, k)
			}
			h.mu.Unlock()
		}()
	}
}

// start runs f on a goroutine and answers the sender with its result.
func (h *host) start(ctx actor.Context, f func() any) {
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	h.mu.Lock()
	h.busy++
	h.mu.Unlock()
	h.inflight.Add(1)
	h.running.Add(1)
	go func() {
		defer h.inflight.Done()
		defer h.running.Add(-1)
		res := f()
		h.mu.Lock()
		h.busy--
		h.mu.Unlock()
		if sender != nil {
			root.Send(sender, res)
		}
	}()
}

func (h *host) load(m *Load) *Loaded {
	ctx, cancel := context.WithTimeout(context.Background(), budget(m.GetBudgetNs()))
	defer cancel()
	inst, err := h.local.Load(ctx, engine.AppRef{ID: m.GetAppId(), Slug: m.GetAppSlug()}, engine.Script{
		ScriptID: m.GetScriptId(), Name: m.GetName(), Version: m.GetVersion(),
		Source: m.GetSource(), Hash: m.GetHash(), Slot: int(m.GetSlot()),
	}, sandbox.Options{MaxOutput: int(m.GetMaxOutput()), MaxResponseBody: int(m.GetMaxResponseBody())})
	if err != nil {
		if f := failureOf(err); f != Failure_FAILURE_NONE {
			return &Loaded{Failure: f, Message: err.Error()}
		}
		return &Loaded{Error: worker.WireError(err)}
	}
	h.mu.Lock()
	old := h.instances[m.GetHandle()]
	h.instances[m.GetHandle()] = &hosted{inst: inst}
	h.mu.Unlock()
	if old != nil {
		old.inst.Close()
	}
	return &Loaded{}
}

func (h *host) call(system *actor.ActorSystem, m *Call) *Answer {
	ctx, cancel := context.WithTimeout(context.Background(), budget(m.GetBudgetNs()))
	defer cancel()
	if ref := m.GetHost(); ref != nil {
		// The script's picloud.KV, Secret, Fetch and Invoke are served
		// by the calling node (see hostcalls.go).
		ctx = sdk.WithHost(ctx, callerHost(system, ref))
	}
	h.mu.Lock()
	in := h.instances[m.GetHandle()]
	if in != nil {
		in.cancel = cancel
	}
	h.mu.Unlock()
	if in == nil {
		// Lost with an activation that moved or stopped: nothing ran.
		return &Answer{Failure: Failure_FAILURE_INSTANCE_LOST, Message: "the instance is not loaded on this member"}
	}
	out := in.inst.Call(ctx, m.GetRequest().SDKRequest())
	h.mu.Lock()
	in.cancel = nil
	h.mu.Unlock()
	if f := failureOf(out.Err); f != Failure_FAILURE_NONE {
		return &Answer{Failure: f, Message: out.Err.Error()}
	}
	return &Answer{Result: worker.WireResult(out)}
}

func budget(ns int64) time.Duration {
	if ns <= 0 {
		return maxRemoteCall
	}
	return min(time.Duration(ns), maxRemoteCall)
}

// failureOf is how err crosses when it is an engine failure.
func failureOf(err error) Failure {
	switch {
	case err == nil:
		return Failure_FAILURE_NONE
	case errors.Is(err, engine.ErrCausedCrash):
		return Failure_FAILURE_CAUSED_CRASH
	case errors.Is(err, engine.ErrInstanceLost):
		return Failure_FAILURE_INSTANCE_LOST
	case errors.Is(err, engine.ErrWorkerCrashed):
		return Failure_FAILURE_WORKER_CRASHED
	}
	return Failure_FAILURE_NONE
}

// failureError is the error a Failure stands for, wrapping the engine's
// sentinels as the owner's error did.
func failureError(f Failure, msg string) error {
	switch f {
	case Failure_FAILURE_CAUSED_CRASH:
		return &remoteError{msg: msg, is: []error{engine.ErrCausedCrash, engine.ErrWorkerCrashed}}
	case Failure_FAILURE_INSTANCE_LOST:
		return &remoteError{msg: msg, is: []error{engine.ErrInstanceLost, engine.ErrWorkerCrashed}}
	case Failure_FAILURE_WORKER_CRASHED:
		return &remoteError{msg: msg, is: []error{engine.ErrWorkerCrashed}}
	}
	return nil
}

// remoteError is an engine error of another member, text and sentinels.
type remoteError struct {
	msg string
	is  []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.is }
