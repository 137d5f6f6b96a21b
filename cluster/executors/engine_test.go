package executors

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// blockingInstance is an engine.Instance that answers in Call only.
type blockingInstance struct{ closed bool }

func (b *blockingInstance) Call(context.Context, *sdk.Request) sandbox.Result {
	return sandbox.Result{Response: sdk.Response{Status: 200}}
}
func (b *blockingInstance) Close() { b.closed = true }

// startingInstance is an engine.Starter that records what it was told.
type startingInstance struct {
	blockingInstance
	started, abandoned int
}

func (s *startingInstance) Start(_ context.Context, _ *sdk.Request, done func(sandbox.Result)) {
	s.started++
	done(sandbox.Result{Response: sdk.Response{Status: 201}})
}
func (s *startingInstance) Abandon() { s.abandoned++ }

// TestLocalInstanceKeepsStarter: the local fast path's wrapper is an
// engine.Starter exactly when the local engine's instance is one (a
// worker's), forwards Start and Abandon to it and counts started calls
// like blocking ones.
func TestLocalInstanceKeepsStarter(t *testing.T) {
	t.Run("starter", func(t *testing.T) {
		var calls atomic.Int64
		inner := &startingInstance{}
		inst := newLocalInstance(inner, &calls)
		s, ok := inst.(engine.Starter)
		if !ok {
			t.Fatalf("%T is not an engine.Starter: the executor would block on every call", inst)
		}
		var got int
		s.Start(context.Background(), &sdk.Request{}, func(r sandbox.Result) { got = r.Response.Status })
		s.Abandon()
		if res := s.Call(context.Background(), &sdk.Request{}); res.Response.Status != 200 {
			t.Errorf("Call status %d", res.Response.Status)
		}
		s.Close()
		if got != 201 || inner.started != 1 || inner.abandoned != 1 || !inner.closed {
			t.Errorf("done got %d, started %d, abandoned %d, closed %v", got, inner.started, inner.abandoned, inner.closed)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("counted %d calls, want 2", n)
		}
	})
	t.Run("blocking", func(t *testing.T) {
		var calls atomic.Int64
		inst := newLocalInstance(&blockingInstance{}, &calls)
		if _, ok := inst.(engine.Starter); ok {
			t.Fatalf("%T is an engine.Starter over an instance that is not", inst)
		}
		if res := inst.Call(context.Background(), &sdk.Request{}); res.Response.Status != 200 || calls.Load() != 1 {
			t.Errorf("Call status %d, counted %d", res.Response.Status, calls.Load())
		}
	})
}
