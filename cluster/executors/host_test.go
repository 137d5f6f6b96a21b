package executors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

const helloSource = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "hello")
}
`

// TestUnloadOfAnotherOwnersHandleKeepsTheActivation sends an executor
// activation, as a slot that moved to it sees them, the Unload of an
// instance its previous owner held and the caller's fresh Load right
// behind it: the fresh instance must answer the next call. Were the
// unknown handle's Unload to end the (then empty) activation, the Load
// would run and the activation stop under it.
func TestUnloadOfAnotherOwnersHandleKeepsTheActivation(t *testing.T) {
	system := actor.NewActorSystem()
	kind := ClusterKind(engine.InProcess{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pid := system.Root.Spawn(kind.Props)
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })

	system.Root.Send(pid, &Unload{Handle: 1}) // held by the previous owner
	res, err := system.Root.RequestFuture(pid, &Load{Handle: 2, AppId: 1, AppSlug: "a", ScriptId: 1, Name: "hello",
		Version: 1, Source: helloSource, BudgetNs: int64(10 * time.Second)}, 15*time.Second).Result()
	if l, ok := res.(*Loaded); err != nil || !ok || l.GetFailure() != Failure_FAILURE_NONE || l.GetError() != nil {
		t.Fatalf("load: %v %+v", err, res)
	}
	res, err = system.Root.RequestFuture(pid, &Call{Handle: 2, Request: worker.WireRequest(&sdk.Request{Method: "GET", Path: "/"}),
		BudgetNs: int64(5 * time.Second)}, 10*time.Second).Result()
	a, ok := res.(*Answer)
	if err != nil || !ok || a.GetFailure() != Failure_FAILURE_NONE {
		t.Fatalf("call after the load: %v %+v", err, res)
	}
	if got := string(a.GetResult().SandboxResult().Response.Body); got != "hello" {
		t.Errorf("call answered %q, want hello", got)
	}
}

const napSource = `package main

import (
	"time"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	time.Sleep(time.Second)
	return picloud.Text(200, "rested")
}
`

// TestCallsReachingAStoppingActivationAreAnswered stops an activation
// while a call runs on it. A call sent after the stop began must be
// answered (as a dead letter, which its caller places again), not lost
// in the mailbox of an actor that waits for its running call to end;
// the running call is answered, and Drained returns only after it.
func TestCallsReachingAStoppingActivationAreAnswered(t *testing.T) {
	system := actor.NewActorSystem()
	kind := ClusterKind(engine.InProcess{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pid := system.Root.Spawn(kind.Props)
	res, err := system.Root.RequestFuture(pid, &Load{Handle: 1, AppId: 1, AppSlug: "a", ScriptId: 1, Name: "nap",
		Version: 1, Source: napSource, BudgetNs: int64(10 * time.Second)}, 15*time.Second).Result()
	if l, ok := res.(*Loaded); err != nil || !ok || l.GetFailure() != Failure_FAILURE_NONE || l.GetError() != nil {
		t.Fatalf("load: %v %+v", err, res)
	}
	call := func() actor.Future {
		return system.Root.RequestFuture(pid, &Call{Handle: 1, Request: worker.WireRequest(&sdk.Request{Method: "GET", Path: "/"}),
			BudgetNs: int64(5 * time.Second)}, 5*time.Second)
	}
	running := call()
	system.Root.Poison(pid)
	time.Sleep(200 * time.Millisecond) // the stop has begun; the running call has 0.8 s to go
	if _, err := call().Result(); errors.Is(err, actor.ErrTimeout) {
		t.Errorf("a call sent while the activation stopped got no answer: %v", err)
	}
	drained := make(chan struct{})
	go func() {
		kind.Drained(context.Background())
		close(drained)
	}()
	res, err = running.Result()
	if a, ok := res.(*Answer); err != nil || !ok || string(a.GetResult().SandboxResult().Response.Body) != "rested" {
		t.Fatalf("the running call: %v %+v", err, res)
	}
	<-drained
}
