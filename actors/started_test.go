package actors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// An executor calls its engine's instances in one of two ways: blocked
// in Call (in process, and a remote engine), or by Start, its outcome
// arriving on a callback (engine.Starter: a worker process's instances).
// The tests of what the executor guarantees run in both.

// eachMode runs test once per way of calling, with a newRuntime that
// starts runtimes calling that way.
func eachMode(t *testing.T, test func(t *testing.T, newRuntime func(testing.TB) *actors.Runtime)) {
	t.Run("call", func(t *testing.T) { test(t, newRuntime) })
	t.Run("start", func(t *testing.T) {
		test(t, func(t testing.TB) *actors.Runtime {
			t.Helper()
			rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)),
				actors.WithEngine(startedEngine{engine.InProcess{}}))
			t.Cleanup(rt.Shutdown)
			return rt
		})
	})
}

// startedEngine makes the instances of its Engine engine.Starters: each
// call runs on a goroutine of its own and ends on its callback, as a
// worker connection's reader would settle it.
type startedEngine struct{ engine.Engine }

func (e startedEngine) Load(ctx context.Context, app engine.AppRef, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	inst, err := e.Engine.Load(ctx, app, script, opts)
	if err != nil {
		return nil, err
	}
	return &startedInstance{Instance: inst}, nil
}

type startedInstance struct {
	engine.Instance
	mu      sync.Mutex
	cur     *startedCall
	cancel  context.CancelFunc
	running sync.WaitGroup
}

// startedCall settles once: with the call's outcome, or its abandon.
type startedCall struct {
	once sync.Once
	done func(sandbox.Result)
}

func (c *startedCall) settle(r sandbox.Result) { c.once.Do(func() { c.done(r) }) }

// Start copies req before it returns, as a worker's instance encodes
// it: the executor reuses its request buffer for the next call.
func (i *startedInstance) Start(ctx context.Context, req *sdk.Request, done func(sandbox.Result)) {
	c := &startedCall{done: done}
	r := *req
	r.Params, r.Headers = maps.Clone(req.Params), maps.Clone(req.Headers)
	ctx, cancel := context.WithCancel(ctx)
	i.mu.Lock()
	i.cur, i.cancel = c, cancel
	i.mu.Unlock()
	i.running.Add(1)
	go func() {
		res := i.Call(ctx, &r)
		i.running.Done() // before the callback, which may Close i
		c.settle(res)
	}()
}

// Close stops a call still running (abandoned), as a worker's unload
// does, before it closes the instance.
func (i *startedInstance) Close() {
	i.mu.Lock()
	cancel := i.cancel
	i.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	i.running.Wait()
	i.Instance.Close()
}

func (i *startedInstance) Abandon() {
	i.mu.Lock()
	c := i.cur
	i.mu.Unlock()
	if c != nil {
		c.settle(sandbox.Result{Err: fmt.Errorf("abandoned: %w", context.DeadlineExceeded)})
	}
}

var _ engine.Starter = (*startedInstance)(nil)
