package executors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// A script's host calls (picloud.KV, Secret, Fetch, Invoke) are served on
// the node that called it, whichever member runs it: the caller's
// executor opened the call's Host there, scoped to the app and holding
// the call's trigger and Invoke depth, and its invocation record (secret
// masking, the fetches made) is written there. So a KV write, a fetch's
// time against the caller's budget, an Invoke through the calling app's
// router and its depth limit are the same for a remote instance as for a
// local one, and the local fast path is untouched.
//
// The owner asks over the worker protocol's HostCall and HostAnswer
// messages, wrapped in HostRequest and HostReply: a remote instance's
// worker process asks its server, which asks the calling node.

// hostCalls serves, on the calling node, the host calls of this node's
// calls in flight on other members. Its actor has an id of the system's
// choosing; a Call names it and the call in a HostRef, by a random
// number, so a host call reaches only a call that handed out its ref.
type hostCalls struct {
	pid *actor.PID

	mu    sync.Mutex
	calls map[uint64]hostedCall
}

type hostedCall struct {
	ctx  context.Context // the caller's: its deadline is the script's budget
	host sdk.Host
}

// newHostCalls spawns the actor that serves host calls in system.
func newHostCalls(system *actor.ActorSystem) *hostCalls {
	hc := &hostCalls{calls: map[uint64]hostedCall{}}
	hc.pid = system.Root.Spawn(actor.PropsFromFunc(hc.receive))
	return hc
}

// register makes the host calls of a call in flight reach host within
// ctx until done is called.
func (hc *hostCalls) register(ctx context.Context, host sdk.Host) (ref *HostRef, done func()) {
	hc.mu.Lock()
	id := rand.Uint64()
	for _, taken := hc.calls[id]; taken || id == 0; _, taken = hc.calls[id] {
		id = rand.Uint64()
	}
	hc.calls[id] = hostedCall{ctx: ctx, host: host}
	hc.mu.Unlock()
	return &HostRef{Address: hc.pid.GetAddress(), Id: hc.pid.GetId(), Call: id}, func() {
		hc.mu.Lock()
		delete(hc.calls, id)
		hc.mu.Unlock()
	}
}

func (hc *hostCalls) receive(ctx actor.Context) {
	m, ok := ctx.Message().(*HostRequest)
	if !ok {
		return
	}
	hc.mu.Lock()
	c, ok := hc.calls[m.GetCall()]
	hc.mu.Unlock()
	if !ok {
		ctx.Respond(&HostReply{Answer: &worker.HostAnswer{Failed: true,
			Error: "picloud: this call has no access to the server (the call is over)"}})
		return
	}
	// Served on a goroutine of its own: a fetch or an Invoke may take the
	// call's whole budget, and holds up no other call's host calls.
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	go func() {
		a := worker.ServeHostCall(c.ctx, c.host, m.GetHostCall())
		if sender != nil {
			root.Send(sender, &HostReply{Answer: a})
		}
	}()
}

// callerHost is the sdk.Host of a call run here for another node: each
// host call goes to ref, on the calling node, and waits for its answer
// no longer than the call's ctx lets it.
func callerHost(system *actor.ActorSystem, ref *HostRef) sdk.Host {
	pid := actor.NewPID(ref.GetAddress(), ref.GetId())
	return worker.HostClient{Ask: func(ctx context.Context, call *worker.HostCall) (*worker.HostAnswer, error) {
		timeout := maxRemoteCall
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		if timeout <= 0 {
			return nil, errors.New("the call's time ran out")
		}
		f := system.Root.RequestFuture(pid, &HostRequest{Call: ref.GetCall(), HostCall: call}, timeout)
		// The call ended (its time, or its caller cancelled it): stop
		// waiting, which completes the future without an answer.
		defer context.AfterFunc(ctx, func() { system.Root.Stop(f.PID()) })()
		res, err := f.Result()
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("the call is over: %w", ctx.Err())
		case errors.Is(err, actor.ErrTimeout):
			return nil, errors.New("the call's time ran out")
		case err != nil:
			return nil, fmt.Errorf("the calling node did not answer: %w", err)
		}
		r, ok := res.(*HostReply)
		if !ok || r.GetAnswer() == nil {
			return nil, fmt.Errorf("the calling node answered %T", res)
		}
		return r.GetAnswer(), nil
	}}
}
