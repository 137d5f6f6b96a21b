package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// waitsInClosure waits on a channel inside a closure made by a
// package-level initialiser, whose frame yaegi made before the stop
// switch used to be armed.
const waitsInClosure = `package main

import "picloud"

var wait = func() { <-make(chan int) }

func Handle(req *picloud.Request) *picloud.Response {
	wait()
	return picloud.Text(200, "done")
}
`

// TestUnloadStopsAWaitInAClosure: the executor's unload of an instance
// whose call ran out of time stops a channel wait in a closure made at
// load, so the worker is not killed after the grace and the app's other
// calls carry on.
func TestUnloadStopsAWaitInAClosure(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	other := load(t, e, appA, hello)
	defer other.Close()
	stuck := load(t, e, appA, waitsInClosure)
	pid := e.Workers()[appA.ID]
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r := stuck.Call(ctx, &sdk.Request{}); !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("call = %+v, want the caller's deadline", r)
	}
	stuck.Close()
	time.Sleep(3 * time.Second) // past the grace after which a stuck worker is killed
	if got := e.Workers()[appA.ID]; got != pid || gone(pid) {
		t.Fatalf("worker of app a: pid %d (gone %v), want %d still running", got, gone(pid), pid)
	}
	if res := other.Call(context.Background(), &sdk.Request{}); res.Err != nil || res.Response.Status != 200 {
		t.Errorf("the app's other script: %+v", res)
	}
}
