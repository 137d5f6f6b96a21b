package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// envChild makes the test binary act as `picloud worker`.
const envChild = "PICLOUD_WORKER_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envProbe); dir != "" {
		os.Exit(probeConfined(dir))
	}
	switch os.Getenv(envChild) {
	case "exit": // a worker that fails before it answers anything
		os.Exit(worker.ExitBadStart)
	case "1":
		opts, err := worker.ChildOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunChild(context.Background(), opts))
	}
	os.Exit(m.Run())
}

// newEngine starts an Engine whose workers are this test binary; it is
// closed at cleanup.
func newEngine(t *testing.T, opts worker.Options) *worker.Engine {
	t.Helper()
	opts.Command = []string{os.Args[0]}
	opts.Env = []string{envChild + "=1"}
	opts.Logger = slog.New(slog.DiscardHandler)
	e, err := worker.NewEngine(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

const (
	hello = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	picloud.Log("hi", req.Param("name"))
	return picloud.Text(200, "hello "+req.Param("name"))
}
`
	panics = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	panic("boom")
}
`
	recursion = `package main

import "picloud"

func depth(n int) int { return depth(n+1) + 1 }

func Handle(req *picloud.Request) *picloud.Response {
	depth(0)
	return nil
}
`
	grows = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	chunk := make([]byte, 1<<20)
	var s []byte
	for {
		s = append(s, chunk...)
	}
	return nil
}
`
	// waits spins until its request says go: a call that stays in flight
	// until its worker dies.
	waits = `package main

import (
	"strings"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	for !strings.HasPrefix(req.Header("X-Go"), "yes") {
	}
	return picloud.Text(200, "done")
}
`
)

// Apps of these tests.
var (
	appA    = engine.AppRef{ID: 1, Slug: "a"}
	appB    = engine.AppRef{ID: 2, Slug: "b"}
	appBad  = engine.AppRef{ID: 3, Slug: "bad"}
	appGood = engine.AppRef{ID: 4, Slug: "good"}
)

func load(t *testing.T, e *worker.Engine, app engine.AppRef, source string) engine.Instance {
	t.Helper()
	inst, err := e.Load(context.Background(), app, engine.Script{ScriptID: 1, Version: 1, Source: source}, sandbox.Options{})
	if err != nil {
		t.Fatalf("load into %s: %v", app.Slug, err)
	}
	return inst
}

func TestCallsRunInTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{})
	inst := load(t, e, appA, hello)
	defer inst.Close()
	res := inst.Call(context.Background(), &sdk.Request{Params: map[string]string{"name": "pi"}})
	if res.Err != nil || res.Panic != nil {
		t.Fatalf("call: %+v", res)
	}
	if res.Response.Status != 200 || string(res.Response.Body) != "hello pi" || !strings.Contains(res.Output, "hi pi") {
		t.Errorf("call = %d %q, output %q", res.Response.Status, res.Response.Body, res.Output)
	}
	if pid := e.Workers()[appA.ID]; pid == 0 || pid == os.Getpid() {
		t.Errorf("app a runs in pid %d, want a worker", pid)
	}
}

func TestSandboxErrorsCrossTheProcess(t *testing.T) {
	e := newEngine(t, worker.Options{})
	_, err := e.Load(context.Background(), appA, engine.Script{Source: strings.Replace(hello, `"hello "`, "undefinedThing", 1)}, sandbox.Options{})
	var ce *sandbox.CompileError
	if !errors.As(err, &ce) || ce.Line != 7 {
		t.Errorf("load = %v, want a *sandbox.CompileError on line 7", err)
	}
	inst := load(t, e, appA, panics)
	defer inst.Close()
	res := inst.Call(context.Background(), &sdk.Request{})
	var pe *sandbox.PanicError
	if !errors.As(res.Panic, &pe) || pe.Value != "boom" {
		t.Errorf("call = %+v, want a *sandbox.PanicError", res)
	}
}

// TestCrashIsBlamedOnTheCallThatCausedIt crashes an app's worker with a
// stack overflow while another call of the app is in flight and a third
// instance idles: the crashing call is told it killed the worker, the
// call in flight only that it died with it, the idle instance that it was
// lost (nothing ran), and the app loads again at once in a new worker,
// while another app carries on.
func TestCrashIsBlamedOnTheCallThatCausedIt(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Hour})
	slow := load(t, e, appBad, waits)
	crash := load(t, e, appBad, recursion)
	idle := load(t, e, appBad, hello)
	other := load(t, e, appGood, hello)
	pid := e.Workers()[appBad.ID]

	var wg sync.WaitGroup
	var inFlight sandbox.Result
	wg.Go(func() { inFlight = slow.Call(context.Background(), &sdk.Request{}) })
	res := crash.Call(context.Background(), &sdk.Request{})
	wg.Wait()
	if !errors.Is(res.Err, engine.ErrCausedCrash) || !strings.Contains(res.Err.Error(), "stack overflow") {
		t.Errorf("crashing call: %+v, want ErrCausedCrash naming the stack overflow", res)
	}
	if !errors.Is(inFlight.Err, engine.ErrWorkerCrashed) || errors.Is(inFlight.Err, engine.ErrCausedCrash) {
		t.Errorf("call in flight: %+v, want ErrWorkerCrashed and not ErrCausedCrash", inFlight)
	}
	if r := idle.Call(context.Background(), &sdk.Request{}); !errors.Is(r.Err, engine.ErrInstanceLost) || errors.Is(r.Err, engine.ErrCausedCrash) {
		t.Errorf("call of an instance lost with the worker: %+v, want ErrInstanceLost", r)
	}
	if r := other.Call(context.Background(), &sdk.Request{}); r.Err != nil || r.Response.Status != 200 {
		t.Errorf("other app after the crash: %+v", r)
	}
	// A crash some call explains is no reason to wait: the next load
	// starts a new worker at once (the backoff is an hour).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	again, err := e.Load(ctx, appBad, engine.Script{Source: hello}, sandbox.Options{})
	if err != nil {
		t.Fatalf("load after the crash: %v", err)
	}
	defer again.Close()
	if r := again.Call(context.Background(), &sdk.Request{}); r.Response.Status != 200 {
		t.Errorf("call after the crash: %+v", r)
	}
	if now := e.Workers()[appBad.ID]; now == pid || now == 0 {
		t.Errorf("worker pid %d before the crash, %d after", pid, now)
	}
}

// TestCrashWhileLoadingIsBlamedOnTheLoad loads a script whose package
// initialisation overflows the stack while a call of another script is
// in flight: the load is blamed, the call is not.
func TestCrashWhileLoadingIsBlamedOnTheLoad(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Hour})
	slow := load(t, e, appBad, waits)
	var wg sync.WaitGroup
	var inFlight sandbox.Result
	wg.Go(func() { inFlight = slow.Call(context.Background(), &sdk.Request{}) })
	_, err := e.Load(context.Background(), appBad, engine.Script{Source: strings.Replace(recursion,
		"func Handle", "var initial = depth(0)\n\nfunc Handle", 1)}, sandbox.Options{})
	wg.Wait()
	if !errors.Is(err, engine.ErrCausedCrash) {
		t.Errorf("load = %v, want ErrCausedCrash", err)
	}
	if !errors.Is(inFlight.Err, engine.ErrWorkerCrashed) || errors.Is(inFlight.Err, engine.ErrCausedCrash) {
		t.Errorf("call in flight: %+v, want ErrWorkerCrashed and not ErrCausedCrash", inFlight)
	}
}

// TestWorkerThatCannotStartBacksOff starts workers that exit before they
// answer anything: no script is to blame, and the next start waits for
// the backoff (as long as the caller's deadline allows).
func TestWorkerThatCannotStartBacksOff(t *testing.T) {
	e, err := worker.NewEngine(worker.Options{Command: []string{os.Args[0]}, Env: []string{envChild + "=exit"},
		Backoff: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	_, err = e.Load(context.Background(), appA, engine.Script{Source: hello}, sandbox.Options{})
	if !errors.Is(err, engine.ErrWorkerCrashed) || errors.Is(err, engine.ErrCausedCrash) {
		t.Fatalf("load = %v, want ErrWorkerCrashed and not ErrCausedCrash", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = e.Load(ctx, appA, engine.Script{Source: hello}, sandbox.Options{})
	if !errors.Is(err, engine.ErrWorkerCrashed) || !strings.Contains(err.Error(), "restarting in") || time.Since(start) > 500*time.Millisecond {
		t.Errorf("load within the backoff = %v after %s, want an ErrWorkerCrashed at once", err, time.Since(start))
	}
}

func TestMemoryLimitEndsTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{MemoryLimit: 64 << 20, Backoff: time.Hour})
	inst := load(t, e, appA, grows)
	r := inst.Call(context.Background(), &sdk.Request{})
	if !errors.Is(r.Err, engine.ErrCausedCrash) {
		t.Fatalf("call = %+v, want it blamed for the crash", r)
	}
	if msg := r.Err.Error(); !strings.Contains(msg, "memory") {
		t.Errorf("crash reason %q does not name the memory limit", msg)
	}
}

func TestIdleWorkerStops(t *testing.T) {
	e := newEngine(t, worker.Options{IdleTimeout: time.Millisecond})
	inst := load(t, e, appA, hello)
	pid := e.Workers()[appA.ID]
	inst.Close()
	eventually(t, "the idle worker to stop", func() bool { return len(e.Workers()) == 0 && gone(pid) })
}

func TestCloseLeavesNoWorker(t *testing.T) {
	e := newEngine(t, worker.Options{})
	load(t, e, appA, hello)
	load(t, e, appB, hello)
	pids := e.Workers()
	e.Close()
	for app, pid := range pids {
		if !gone(pid) {
			t.Errorf("worker of app %d (pid %d) still runs after Close", app, pid)
		}
	}
	if _, err := e.Load(context.Background(), appA, engine.Script{Source: hello}, sandbox.Options{}); err == nil {
		t.Error("load after Close succeeded")
	}
}

// gone reports whether pid no longer exists (Close and the idle stop
// reap their workers, so no zombie remains).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStuckCallEndsTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	stuck := load(t, e, appA, waits)
	pid := e.Workers()[appA.ID]
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller gave up (its time budget ran out)
	if r := stuck.Call(ctx, &sdk.Request{}); !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("call = %+v, want the caller's context error", r)
	}
	// The script spins on in the worker until the host ends it.
	eventually(t, "the stuck worker to be ended", func() bool { return gone(pid) })
}

func TestUnloadStopsAnAbandonedCallAndSparesTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	other := load(t, e, appA, hello)
	defer other.Close()
	stuck := load(t, e, appA, waits)
	pid := e.Workers()[appA.ID]
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller gave up (its time budget ran out)
	if r := stuck.Call(ctx, &sdk.Request{}); !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("call = %+v, want the caller's context error", r)
	}
	// The executor discards an instance whose call ran out of time: the
	// unload stops the script in the worker, so the worker need not die.
	stuck.Close()
	time.Sleep(3 * time.Second) // past the grace after which a stuck worker is killed
	if got := e.Workers()[appA.ID]; got != pid || gone(pid) {
		t.Fatalf("worker of app a: pid %d (gone %v), want %d still running", got, gone(pid), pid)
	}
	if res := other.Call(context.Background(), &sdk.Request{}); res.Err != nil || res.Response.Status != 200 {
		t.Errorf("the app's other script: %+v", res)
	}
}

// TestWorkersAreKeyedByAppID renames app x to y and gives its old slug
// to a new app: the two never share a worker, and the renamed app keeps
// its own.
func TestWorkersAreKeyedByAppID(t *testing.T) {
	e := newEngine(t, worker.Options{})
	renamed := engine.AppRef{ID: 1, Slug: "x"}
	before := load(t, e, renamed, hello)
	defer before.Close()
	pid := e.Workers()[renamed.ID]

	renamed.Slug = "y"
	after := load(t, e, renamed, hello)
	defer after.Close()
	newcomer := load(t, e, engine.AppRef{ID: 2, Slug: "x"}, hello)
	defer newcomer.Close()

	workers := e.Workers()
	if workers[1] != pid {
		t.Errorf("app 1 runs in pid %d after its rename, want its worker %d", workers[1], pid)
	}
	if workers[2] == 0 || workers[2] == pid {
		t.Errorf("app 2, which took over the slug x, runs in pid %d; app 1 runs in %d", workers[2], pid)
	}
	if len(workers) != 2 {
		t.Errorf("workers = %v, want one for each of the two apps", workers)
	}
}

// TestAbandonedLoadIsStoppedAndSparesTheWorker gives up on a load whose
// package initialisation never ends: the load is stopped in the worker,
// which is not killed as stuck, so the app's other script carries on.
func TestAbandonedLoadIsStoppedAndSparesTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{})
	other := load(t, e, appA, hello)
	defer other.Close()
	pid := e.Workers()[appA.ID]
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := e.Load(ctx, appA, engine.Script{Source: strings.Replace(hello,
		"func Handle", "var forever = func() int {\n\tfor {\n\t}\n}()\n\nfunc Handle", 1)}, sandbox.Options{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("load = %v, want the caller's deadline", err)
	}
	time.Sleep(3 * time.Second) // past the grace after which a stuck worker is killed
	if got := e.Workers()[appA.ID]; got != pid || gone(pid) {
		t.Fatalf("worker of app a: pid %d (gone %v), want %d still running", got, gone(pid), pid)
	}
	if res := other.Call(context.Background(), &sdk.Request{}); res.Err != nil || res.Response.Status != 200 {
		t.Errorf("the app's other script: %+v", res)
	}
}
