package actors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// crashingEngine plays a worker process: while down, loads fail and
// calls on its instances fail with ErrWorkerCrashed.
type crashingEngine struct {
	mu    sync.Mutex
	down  bool
	loads int
}

func (e *crashingEngine) setDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
}

func (e *crashingEngine) isDown() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.down
}

func (e *crashingEngine) Load(context.Context, engine.AppRef, engine.Script, sandbox.Options) (engine.Instance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.loads++
	if e.down {
		return nil, fmt.Errorf("restarting: %w", engine.ErrWorkerCrashed)
	}
	return fakeInstance{e}, nil
}

type fakeInstance struct{ e *crashingEngine }

func (i fakeInstance) Call(context.Context, *sdk.Request) sandbox.Result {
	if i.e.isDown() {
		return sandbox.Result{Err: fmt.Errorf("died: %w", engine.ErrWorkerCrashed)}
	}
	return sandbox.Result{Response: sdk.Response{Status: 200, Body: []byte("ok")}}
}

func (fakeInstance) Close() {}

// TestWorkerCrashAnswers502 checks the executor's side of a worker
// crash: the call in the crashed worker and the calls while it restarts
// get 502 worker_crashed, and the next call after the restart loads the
// script again and succeeds.
func TestWorkerCrashAnswers502(t *testing.T) {
	engine := &crashingEngine{}
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(engine))
	t.Cleanup(rt.Shutdown)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1}, []actors.ScriptVersion{script(1, 1, helloScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	steps := []struct {
		name   string
		down   bool
		status int
		code   string
	}{
		{"worker up", false, 200, ""},
		{"worker dies under the call", true, 502, actors.CodeCrashed},
		{"worker restarting", true, 502, actors.CodeCrashed},
		{"worker back", false, 200, ""},
	}
	for _, s := range steps {
		engine.setDown(s.down)
		res := call(t, rt, pid, get("/"), 0)
		if res.Status != s.status || res.ErrCode != s.code {
			t.Fatalf("%s: %d %q (%s), want %d %q", s.name, res.Status, res.ErrCode, res.ErrMessage, s.status, s.code)
		}
	}
}

// appsEngine records the app of every load and runs scripts in process.
type appsEngine struct {
	mu   sync.Mutex
	apps []engine.AppRef
}

func (e *appsEngine) Load(ctx context.Context, app engine.AppRef, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	e.mu.Lock()
	e.apps = append(e.apps, app)
	e.mu.Unlock()
	return engine.InProcess{}.Load(ctx, app, script, opts)
}

// TestEngineKeysAppsByID renames the app: its executors load under the
// same app id, the new slug only naming it.
func TestEngineKeysAppsByID(t *testing.T) {
	eng := &appsEngine{}
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(eng))
	t.Cleanup(rt.Shutdown)
	snap := snapshot(actors.Limits{}, []actors.ScriptVersion{script(1, 1, echoScript)})
	pid := startApp(t, rt, snap)
	if res := call(t, rt, pid, get("/"), 1); res.Status != 201 {
		t.Fatalf("before the rename: %d %s", res.Status, res.ErrMessage)
	}
	renamed := *snap
	renamed.Slug = "renamed"
	rt.Send(pid, &renamed)
	if res := call(t, rt, pid, get("/"), 1); res.Status != 201 || !strings.Contains(string(res.Body), `"app":"renamed"`) {
		t.Fatalf("after the rename: %d %s %s", res.Status, res.Body, res.ErrMessage)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	want := []engine.AppRef{{ID: 1, Slug: "demo"}, {ID: 1, Slug: "renamed"}}
	if !slices.Equal(eng.apps, want) {
		t.Errorf("loads for %v, want %v", eng.apps, want)
	}
}

// slotsEngine records the slot of every load and runs scripts in
// process.
type slotsEngine struct {
	mu    sync.Mutex
	slots []int
}

func (e *slotsEngine) Load(ctx context.Context, app engine.AppRef, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	e.mu.Lock()
	e.slots = append(e.slots, script.Slot)
	e.mu.Unlock()
	return engine.InProcess{}.Load(ctx, app, script, opts)
}

// TestExecutorsLoadWithDistinctSlots keeps three calls of one script in
// flight: its three executors load with slots 0, 1 and 2, which a remote
// engine places by.
func TestExecutorsLoadWithDistinctSlots(t *testing.T) {
	eng := &slotsEngine{}
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(eng))
	t.Cleanup(rt.Shutdown)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 3}, []actors.ScriptVersion{script(1, 1, slowScript("x"))}))
	var replies []*actors.Reply
	for range 3 {
		replies = append(replies, send(rt, pid, slow("/", 200), 1))
	}
	for _, r := range replies {
		if res := await(t, r); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.ErrMessage)
		}
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	got := slices.Sorted(slices.Values(eng.slots))
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("loads with slots %v, want 0, 1 and 2", got)
	}
}

// movingEngine plays an engine whose instances live on other nodes: the
// first lost instances are gone before a call reaches them (their slot
// moved: nothing ran), and while nodeGone is set a call fails because
// the node running it went away.
type movingEngine struct {
	mu       sync.Mutex
	lost     int // instances still to lose
	nodeGone bool
	calls    int // calls that reached a script
}

func (e *movingEngine) Load(context.Context, engine.AppRef, engine.Script, sandbox.Options) (engine.Instance, error) {
	return movingInstance{e}, nil
}

type movingInstance struct{ e *movingEngine }

func (i movingInstance) Call(context.Context, *sdk.Request) sandbox.Result {
	e := i.e
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.nodeGone:
		return sandbox.Result{Err: fmt.Errorf("call: %w: %w", engine.ErrExecutorLost, engine.ErrWorkerCrashed)}
	case e.lost > 0:
		e.lost--
		return sandbox.Result{Err: fmt.Errorf("moved: %w: %w", engine.ErrInstanceLost, engine.ErrWorkerCrashed)}
	}
	e.calls++
	return sandbox.Result{Response: sdk.Response{Status: 200, Body: []byte("ok")}}
}

func (movingInstance) Close() {}

// TestCallsPlacedAgainWhileSlotsMove checks that a call whose instance
// was lost before it reached the script runs on a fresh load, even when
// the fresh load is lost too (a slot moving twice while a node leaves
// or comes back), and that a call whose node went away under it is
// answered 502 executor_lost, not worker_crashed.
func TestCallsPlacedAgainWhileSlotsMove(t *testing.T) {
	for _, c := range []struct {
		name     string
		lost     int
		nodeGone bool
		status   int
		code     string
		ran      int
	}{
		{"instance lost once", 1, false, 200, "", 1},
		{"instance lost twice", 2, false, 200, "", 1},
		{"instance lost three times", 3, false, 200, "", 1},
		{"node gone under the call", 0, true, 502, actors.CodeExecutorLost, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			eng := &movingEngine{lost: c.lost, nodeGone: c.nodeGone}
			rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(eng))
			t.Cleanup(rt.Shutdown)
			pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1}, []actors.ScriptVersion{script(1, 1, helloScript)},
				actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))
			res := call(t, rt, pid, get("/"), 0)
			if res.Status != c.status || res.ErrCode != c.code {
				t.Fatalf("%d %q (%s), want %d %q", res.Status, res.ErrCode, res.ErrMessage, c.status, c.code)
			}
			eng.mu.Lock()
			defer eng.mu.Unlock()
			if eng.calls != c.ran {
				t.Errorf("the script ran %d times, want %d", eng.calls, c.ran)
			}
		})
	}
}
