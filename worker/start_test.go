package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// start runs one call through Start and waits for its callback.
func start(t *testing.T, inst engine.Instance, req *sdk.Request) <-chan sandbox.Result {
	t.Helper()
	s, ok := inst.(engine.Starter)
	if !ok {
		t.Fatalf("%T is not an engine.Starter", inst)
	}
	ch := make(chan sandbox.Result, 2) // room for a second, wrong, callback
	s.Start(context.Background(), req, func(r sandbox.Result) { ch <- r })
	return ch
}

// settled is the one Result a started call's callback got.
func settled(t *testing.T, ch <-chan sandbox.Result) sandbox.Result {
	t.Helper()
	var res sandbox.Result
	select {
	case res = <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the callback of a started call never ran")
	}
	select {
	case again := <-ch:
		t.Fatalf("the callback ran twice: %+v then %+v", res, again)
	case <-time.After(50 * time.Millisecond):
	}
	return res
}

// TestStartedCallsCompleteOnTheirCallback runs calls through Start:
// answered ones, one after the other on the same instance, reach their
// callback once each with what Call would have returned.
func TestStartedCallsCompleteOnTheirCallback(t *testing.T) {
	e := newEngine(t, worker.Options{})
	inst := load(t, e, appA, hello)
	defer inst.Close()
	for _, name := range []string{"pi", "tau"} {
		res := settled(t, start(t, inst, &sdk.Request{Params: map[string]string{"name": name}}))
		if res.Err != nil || res.Response.Status != 200 || string(res.Response.Body) != "hello "+name {
			t.Errorf("call %s: %+v", name, res)
		}
	}
	bad := load(t, e, appA, panics)
	defer bad.Close()
	var pe *sandbox.PanicError
	if res := settled(t, start(t, bad, &sdk.Request{})); !errors.As(res.Panic, &pe) || pe.Value != "boom" {
		t.Errorf("panicking call = %+v, want a *sandbox.PanicError", res)
	}
}

// TestAbandonedStartedCallFailsAtOnceAndEndsAStuckWorker abandons a
// started call that never ends: its callback gets
// context.DeadlineExceeded at once, the worker is killed after the grace
// and the instance's next call is lost (nothing ran), never answered by
// the stale call.
func TestAbandonedStartedCallFailsAtOnceAndEndsAStuckWorker(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	stuck := load(t, e, appA, waits)
	pid := e.Workers()[appA.ID]
	ch := start(t, stuck, &sdk.Request{})
	stuck.(engine.Starter).Abandon()
	if res := settled(t, ch); !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("abandoned call = %+v, want context.DeadlineExceeded", res)
	}
	eventually(t, "the stuck worker to be ended", func() bool { return gone(pid) })
	if res := settled(t, start(t, stuck, &sdk.Request{})); !errors.Is(res.Err, engine.ErrInstanceLost) {
		t.Errorf("call after the worker was ended: %+v, want ErrInstanceLost", res)
	}
}

// TestStartedCallsAreBlamedLikeCalls crashes a worker with a started
// call while another started call is in flight: the crashing one is told
// it killed the worker, the other only that it died with it.
func TestStartedCallsAreBlamedLikeCalls(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Hour})
	slow := load(t, e, appBad, waits)
	crash := load(t, e, appBad, recursion)
	inFlight := start(t, slow, &sdk.Request{})
	res := settled(t, start(t, crash, &sdk.Request{}))
	if !errors.Is(res.Err, engine.ErrCausedCrash) || !strings.Contains(res.Err.Error(), "stack overflow") {
		t.Errorf("crashing call: %+v, want ErrCausedCrash naming the stack overflow", res)
	}
	if r := settled(t, inFlight); !errors.Is(r.Err, engine.ErrWorkerCrashed) || errors.Is(r.Err, engine.ErrCausedCrash) {
		t.Errorf("call in flight: %+v, want ErrWorkerCrashed and not ErrCausedCrash", r)
	}
	// An abandon after the call settled changes nothing.
	slow.(engine.Starter).Abandon()
}
