package actors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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

func (e *crashingEngine) Load(context.Context, string, engine.Script, sandbox.Options) (engine.Instance, error) {
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
