package actors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// fakeWorker plays one app's worker process as the worker package does:
// a call of a culprit script kills it (the call is blamed, any call
// still running in it dies with it, instances loaded in it are lost) and
// the next load starts it again. Scripts run in process.
type fakeWorker struct {
	culprits    map[int64]bool // script ids whose calls kill the worker
	crashOnLoad map[int64]bool // script ids whose loads kill it
	restart     time.Duration  // a load waits this long after a crash
	// started: its instances are engine.Starters, as the worker
	// package's are.
	started bool

	running atomic.Int32 // calls inside an instance's Call right now

	mu         sync.Mutex
	generation int // bumped by every crash
	restarting bool
}

var (
	errCaused = fmt.Errorf("%w: %w", engine.ErrCausedCrash, engine.ErrWorkerCrashed)
	errDied   = fmt.Errorf("died with its worker: %w", engine.ErrWorkerCrashed)
	errLost   = fmt.Errorf("%w: %w", engine.ErrInstanceLost, engine.ErrWorkerCrashed)
)

func (w *fakeWorker) crash() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.generation++
	w.restarting = true
}

func (w *fakeWorker) Load(ctx context.Context, app engine.AppRef, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	w.mu.Lock()
	restarting := w.restarting
	w.mu.Unlock()
	if restarting {
		select {
		case <-time.After(w.restart):
		case <-ctx.Done():
			return nil, fmt.Errorf("restarting: %w", engine.ErrWorkerCrashed)
		}
	}
	w.mu.Lock()
	w.restarting = false
	w.mu.Unlock()
	if w.crashOnLoad[script.ScriptID] {
		w.crash()
		return nil, errCaused
	}
	inst, err := engine.InProcess{}.Load(ctx, app, script, opts)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	wi := &workerInstance{w: w, generation: w.generation, inner: inst, culprit: w.culprits[script.ScriptID]}
	if w.started {
		return &startedInstance{Instance: wi}, nil
	}
	return wi, nil
}

// eachWorker runs test with a fakeWorker of each way of calling, made by
// newWorker.
func eachWorker(t *testing.T, newWorker func() *fakeWorker, test func(t *testing.T, w *fakeWorker)) {
	for _, started := range []bool{false, true} {
		t.Run(map[bool]string{false: "call", true: "start"}[started], func(t *testing.T) {
			w := newWorker()
			w.started = started
			test(t, w)
		})
	}
}

type workerInstance struct {
	w          *fakeWorker
	generation int
	inner      engine.Instance
	culprit    bool
}

func (i *workerInstance) alive() bool {
	i.w.mu.Lock()
	defer i.w.mu.Unlock()
	return i.generation == i.w.generation
}

func (i *workerInstance) Call(ctx context.Context, req *sdk.Request) sandbox.Result {
	if !i.alive() {
		return sandbox.Result{Err: errLost}
	}
	if i.culprit {
		i.w.crash()
		return sandbox.Result{Err: errCaused}
	}
	i.w.running.Add(1)
	res := i.inner.Call(ctx, req)
	i.w.running.Add(-1)
	if !i.alive() {
		return sandbox.Result{Err: errDied}
	}
	return res
}

func (i *workerInstance) Close() { i.inner.Close() }

func crashRuntime(t *testing.T, w *fakeWorker, limits actors.Limits) (*actors.Runtime, func(int64) actors.Result, func() actors.RouterStatus) {
	t.Helper()
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(w))
	t.Cleanup(rt.Shutdown)
	pid := startApp(t, rt, snapshot(limits, []actors.ScriptVersion{script(1, 1, helloScript), script(2, 1, slowScript("sibling"))}))
	return rt, func(id int64) actors.Result { return call(t, rt, pid, slow("/", 0), id) },
		func() actors.RouterStatus { return status(t, rt, pid) }
}

// TestWorkerCrashIsCountedAgainstItsCulpritOnly: a script that kills its
// worker on every call is parked after FatalCrashLimit+1 crashes (with a
// CrashLimit far higher), while every call of its sibling, made between
// the crashes, succeeds in the restarted worker and counts no crash.
func TestWorkerCrashIsCountedAgainstItsCulpritOnly(t *testing.T) {
	eachWorker(t, func() *fakeWorker { return &fakeWorker{culprits: map[int64]bool{1: true}} }, testWorkerCrashIsCountedAgainstItsCulpritOnly)
}

func testWorkerCrashIsCountedAgainstItsCulpritOnly(t *testing.T, w *fakeWorker) {
	_, call, status := crashRuntime(t, w, actors.Limits{CrashLimit: 100, CrashWindow: time.Minute})
	for i := range actors.FatalCrashLimit + 1 {
		if res := call(1); res.Status != 502 || res.ErrCode != actors.CodeCrashed {
			t.Fatalf("crash %d: %d %q %s", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
		if res := call(2); res.Status != 200 || string(res.Body) != "sibling" {
			t.Fatalf("sibling after crash %d: %d %q %s", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
	}
	res := call(1)
	if res.Status != 503 || res.ErrCode != actors.CodeParked || !strings.Contains(res.ErrMessage, "killed its worker process 3 times") {
		t.Fatalf("after %d crashes: %d %q %s", actors.FatalCrashLimit+1, res.Status, res.ErrCode, res.ErrMessage)
	}
	st := status()
	if p, _ := pool(st, 1, 1); p.Crashes != actors.FatalCrashLimit+1 || p.ParkedUntil.IsZero() {
		t.Errorf("culprit: %+v", p)
	}
	if p, _ := pool(st, 2, 1); p.Crashes != 0 || !p.ParkedUntil.IsZero() {
		t.Errorf("sibling: %+v", p)
	}
}

// TestCallInFlightInACrashFailsUncounted: a sibling call running when
// the culprit kills the worker fails 502 and counts for nobody; the
// sibling's next call runs in the restarted worker.
func TestCallInFlightInACrashFailsUncounted(t *testing.T) {
	eachWorker(t, func() *fakeWorker { return &fakeWorker{culprits: map[int64]bool{1: true}} }, testCallInFlightInACrashFailsUncounted)
}

func testCallInFlightInACrashFailsUncounted(t *testing.T, w *fakeWorker) {
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(w))
	t.Cleanup(rt.Shutdown)
	pid := startApp(t, rt, snapshot(actors.Limits{}, []actors.ScriptVersion{script(1, 1, helloScript), script(2, 1, slowScript("sibling"))}))

	// Long enough that the crash, even on a loaded machine, comes first;
	// the crash ends it early.
	inFlight := send(rt, pid, slow("/", 3000), 2)
	// Running in its instance, not merely busy loading it: a crash during
	// the load would leave a call that is not yet in flight.
	eventually(t, waitFor, func() bool { return w.running.Load() == 1 })
	if res := call(t, rt, pid, get("/"), 1); res.Status != 502 {
		t.Fatalf("crashing call: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	if res := await(t, inFlight); res.Status != 502 || res.ErrCode != actors.CodeCrashed {
		t.Fatalf("call in flight: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	if res := call(t, rt, pid, slow("/", 0), 2); res.Status != 200 {
		t.Fatalf("sibling afterwards: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	st := status(t, rt, pid)
	if p, _ := pool(st, 2, 1); p.Crashes != 0 {
		t.Errorf("sibling: %+v", p)
	}
	if p, _ := pool(st, 1, 1); p.Crashes != 1 {
		t.Errorf("culprit: %+v", p)
	}
}

// TestLoadThatKillsTheWorkerIsACrash: a script whose load kills the
// worker is answered 502 and parked like one whose calls do.
func TestLoadThatKillsTheWorkerIsACrash(t *testing.T) {
	eachWorker(t, func() *fakeWorker { return &fakeWorker{crashOnLoad: map[int64]bool{1: true}} }, testLoadThatKillsTheWorkerIsACrash)
}

func testLoadThatKillsTheWorkerIsACrash(t *testing.T, w *fakeWorker) {
	_, call, status := crashRuntime(t, w, actors.Limits{CrashLimit: 100, CrashWindow: time.Minute})
	for i := range actors.FatalCrashLimit + 1 {
		if res := call(1); res.Status != 502 || res.ErrCode != actors.CodeCrashed {
			t.Fatalf("call %d: %d %q %s", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
	}
	if res := call(1); res.ErrCode != actors.CodeParked {
		t.Fatalf("after %d crashes: %d %q %s", actors.FatalCrashLimit+1, res.Status, res.ErrCode, res.ErrMessage)
	}
	if res := call(2); res.Status != 200 {
		t.Fatalf("sibling: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	if p, _ := pool(status(), 2, 1); p.Crashes != 0 {
		t.Errorf("sibling: %+v", p)
	}
}

// TestSiblingWaitsForTheRestartWithinItsQueueTimeout: a sibling whose
// instance was lost in a crash waits for the worker to come back, as
// long as its queue timeout allows.
func TestSiblingWaitsForTheRestartWithinItsQueueTimeout(t *testing.T) {
	// The bounds are far apart so that a loaded machine (compiling the
	// script again takes part of the queue timeout) cannot flip a case.
	cases := []struct {
		name         string
		restart      time.Duration
		queueTimeout time.Duration
		status       int
	}{
		{"the worker is back within the queue timeout", 50 * time.Millisecond, 5 * time.Second, 200},
		{"the worker is not back within the queue timeout", time.Minute, 300 * time.Millisecond, 502},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			queueTimeout := tc.queueTimeout
			eachWorker(t, func() *fakeWorker { return &fakeWorker{culprits: map[int64]bool{1: true}, restart: tc.restart} }, func(t *testing.T, w *fakeWorker) {
				// One executor per script: the sibling's call after the
				// crash goes to the executor whose instance was lost, even
				// when its idle message reaches the router after the call
				// (a second executor would wait for the worker in its
				// first load, up to the load timeout).
				_, call, _ := crashRuntime(t, w, actors.Limits{QueueTimeout: queueTimeout, MaxConcurrency: 1})
				if res := call(2); res.Status != 200 {
					t.Fatalf("sibling before: %d %s", res.Status, res.ErrMessage)
				}
				if res := call(1); res.Status != 502 {
					t.Fatalf("crash: %d %s", res.Status, res.ErrMessage)
				}
				start := time.Now()
				res := call(2)
				took := time.Since(start)
				if res.Status != tc.status {
					t.Errorf("sibling after the crash: %d %q %s, want %d", res.Status, res.ErrCode, res.ErrMessage, tc.status)
				}
				if took >= tc.restart && tc.restart > queueTimeout {
					t.Errorf("sibling waited %s, for the worker's restart, past its queue timeout of %s", took, queueTimeout)
				}
			})
		})
	}
}
