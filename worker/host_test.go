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
	if os.Getenv(envChild) == "1" {
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

func load(t *testing.T, e *worker.Engine, app, source string) engine.Instance {
	t.Helper()
	inst, err := e.Load(context.Background(), app, engine.Script{ScriptID: 1, Version: 1, Source: source}, sandbox.Options{})
	if err != nil {
		t.Fatalf("load into %s: %v", app, err)
	}
	return inst
}

func TestCallsRunInTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{})
	inst := load(t, e, "a", hello)
	defer inst.Close()
	res := inst.Call(context.Background(), &sdk.Request{Params: map[string]string{"name": "pi"}})
	if res.Err != nil || res.Panic != nil {
		t.Fatalf("call: %+v", res)
	}
	if res.Response.Status != 200 || string(res.Response.Body) != "hello pi" || !strings.Contains(res.Output, "hi pi") {
		t.Errorf("call = %d %q, output %q", res.Response.Status, res.Response.Body, res.Output)
	}
	if pid := e.Workers()["a"]; pid == 0 || pid == os.Getpid() {
		t.Errorf("app a runs in pid %d, want a worker", pid)
	}
}

func TestSandboxErrorsCrossTheProcess(t *testing.T) {
	e := newEngine(t, worker.Options{})
	_, err := e.Load(context.Background(), "a", engine.Script{Source: strings.Replace(hello, `"hello "`, "undefinedThing", 1)}, sandbox.Options{})
	var ce *sandbox.CompileError
	if !errors.As(err, &ce) || ce.Line != 7 {
		t.Errorf("load = %v, want a *sandbox.CompileError on line 7", err)
	}
	inst := load(t, e, "a", panics)
	defer inst.Close()
	res := inst.Call(context.Background(), &sdk.Request{})
	var pe *sandbox.PanicError
	if !errors.As(res.Panic, &pe) || pe.Value != "boom" {
		t.Errorf("call = %+v, want a *sandbox.PanicError", res)
	}
}

func TestCrashFailsCallsInFlightAndSparesOtherApps(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Hour})
	slow := load(t, e, "bad", waits)
	crash := load(t, e, "bad", recursion)
	other := load(t, e, "good", hello)

	var wg sync.WaitGroup
	var inFlight sandbox.Result
	wg.Go(func() { inFlight = slow.Call(context.Background(), &sdk.Request{}) })
	res := crash.Call(context.Background(), &sdk.Request{})
	wg.Wait()
	for name, r := range map[string]sandbox.Result{"crashing call": res, "call in flight": inFlight} {
		if !errors.Is(r.Err, engine.ErrWorkerCrashed) || !strings.Contains(r.Err.Error(), "stack") {
			t.Errorf("%s: %+v, want ErrWorkerCrashed naming the stack overflow", name, r)
		}
	}
	if r := other.Call(context.Background(), &sdk.Request{}); r.Err != nil || r.Response.Status != 200 {
		t.Errorf("other app after the crash: %+v", r)
	}
	// Within the backoff the app's scripts are not loaded again.
	_, err := e.Load(context.Background(), "bad", engine.Script{Source: hello}, sandbox.Options{})
	if !errors.Is(err, engine.ErrWorkerCrashed) || !strings.Contains(err.Error(), "restarting in") {
		t.Errorf("load during the backoff = %v, want ErrWorkerCrashed", err)
	}
}

func TestCrashedWorkerRestarts(t *testing.T) {
	e := newEngine(t, worker.Options{Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	first := e.Workers()
	crash := load(t, e, "a", recursion)
	pid := e.Workers()["a"]
	if r := crash.Call(context.Background(), &sdk.Request{}); !errors.Is(r.Err, engine.ErrWorkerCrashed) {
		t.Fatalf("call = %+v, want a crash", r)
	}
	var inst engine.Instance
	eventually(t, "a restarted worker", func() bool {
		var err error
		inst, err = e.Load(context.Background(), "a", engine.Script{Source: hello}, sandbox.Options{})
		return err == nil
	})
	defer inst.Close()
	if r := inst.Call(context.Background(), &sdk.Request{}); r.Response.Status != 200 {
		t.Errorf("call after restart: %+v", r)
	}
	if again := e.Workers()["a"]; again == pid || again == 0 || len(first) != 0 {
		t.Errorf("worker pid %d before the crash, %d after", pid, again)
	}
}

func TestMemoryLimitEndsTheWorker(t *testing.T) {
	e := newEngine(t, worker.Options{MemoryLimit: 64 << 20, Backoff: time.Hour})
	inst := load(t, e, "a", grows)
	r := inst.Call(context.Background(), &sdk.Request{})
	if !errors.Is(r.Err, engine.ErrWorkerCrashed) {
		t.Fatalf("call = %+v, want a crash", r)
	}
	if msg := r.Err.Error(); !strings.Contains(msg, "memory") {
		t.Errorf("crash reason %q does not name the memory limit", msg)
	}
}

func TestIdleWorkerStops(t *testing.T) {
	e := newEngine(t, worker.Options{IdleTimeout: time.Millisecond})
	inst := load(t, e, "a", hello)
	pid := e.Workers()["a"]
	inst.Close()
	eventually(t, "the idle worker to stop", func() bool { return len(e.Workers()) == 0 && gone(pid) })
}

func TestCloseLeavesNoWorker(t *testing.T) {
	e := newEngine(t, worker.Options{})
	load(t, e, "a", hello)
	load(t, e, "b", hello)
	pids := e.Workers()
	e.Close()
	for app, pid := range pids {
		if !gone(pid) {
			t.Errorf("worker of app %s (pid %d) still runs after Close", app, pid)
		}
	}
	if _, err := e.Load(context.Background(), "a", engine.Script{Source: hello}, sandbox.Options{}); err == nil {
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
	stuck := load(t, e, "a", waits)
	pid := e.Workers()["a"]
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
	other := load(t, e, "a", hello)
	defer other.Close()
	stuck := load(t, e, "a", waits)
	pid := e.Workers()["a"]
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller gave up (its time budget ran out)
	if r := stuck.Call(ctx, &sdk.Request{}); !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("call = %+v, want the caller's context error", r)
	}
	// The executor discards an instance whose call ran out of time: the
	// unload stops the script in the worker, so the worker need not die.
	stuck.Close()
	time.Sleep(3 * time.Second) // past the grace after which a stuck worker is killed
	if got := e.Workers()["a"]; got != pid || gone(pid) {
		t.Fatalf("worker of app a: pid %d (gone %v), want %d still running", got, gone(pid), pid)
	}
	if res := other.Call(context.Background(), &sdk.Request{}); res.Err != nil || res.Response.Status != 200 {
		t.Errorf("the app's other script: %+v", res)
	}
}
