package executors

import (
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
