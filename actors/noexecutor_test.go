package actors_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// nowhere is an Engine with no executor to place a load on (a cluster
// without a live executor member).
type nowhere struct{}

func (nowhere) Load(context.Context, engine.AppRef, engine.Script, sandbox.Options) (engine.Instance, error) {
	return nil, fmt.Errorf("place executor: %w: %w", engine.ErrNoExecutor, engine.ErrWorkerCrashed)
}

// TestNoExecutorIsUnavailable: a call no executor can take is answered
// 503 no_executor with Retry-After at once, again and again, and never
// counts as a crash (the script is not parked for the cluster's state).
func TestNoExecutorIsUnavailable(t *testing.T) {
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(nowhere{}))
	t.Cleanup(rt.Shutdown)
	pid := startApp(t, rt, snapshot(actors.Limits{CrashLimit: 1}, []actors.ScriptVersion{script(1, 1, helloScript)}))
	for i := range 4 {
		res := call(t, rt, pid, get("/"), 1)
		if res.Status != 503 || res.ErrCode != actors.CodeNoExecutor || res.RetryAfter <= 0 {
			t.Fatalf("call %d: %d %s (retry after %s) %q", i+1, res.Status, res.ErrCode, res.RetryAfter, res.ErrMessage)
		}
	}
	if p, _ := pool(status(t, rt, pid), 1, 1); p.Crashes != 0 || !p.ParkedUntil.IsZero() {
		t.Errorf("pool = %+v: calls no executor took counted as crashes", p)
	}
}

// goneAway is an Engine whose instances lose every executor member
// after loading: each call fails with ErrNoExecutor.
type goneAway struct{}

func (goneAway) Load(context.Context, engine.AppRef, engine.Script, sandbox.Options) (engine.Instance, error) {
	return goneInstance{}, nil
}

type goneInstance struct{}

func (goneInstance) Call(context.Context, *sdk.Request) sandbox.Result {
	return sandbox.Result{Err: fmt.Errorf("call: %w: %w", engine.ErrNoExecutor, engine.ErrWorkerCrashed)}
}

func (goneInstance) Close() {}

// TestExecutorsGoneIsUnavailable: a call whose executor members all went
// after it loaded is answered 503 no_executor, not 502, and counts as no
// crash.
func TestExecutorsGoneIsUnavailable(t *testing.T) {
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(goneAway{}))
	t.Cleanup(rt.Shutdown)
	pid := startApp(t, rt, snapshot(actors.Limits{CrashLimit: 1}, []actors.ScriptVersion{script(1, 1, helloScript)}))
	for i := range 3 {
		if res := call(t, rt, pid, get("/"), 1); res.Status != 503 || res.ErrCode != actors.CodeNoExecutor {
			t.Fatalf("call %d: %d %s %q", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
	}
	if p, _ := pool(status(t, rt, pid), 1, 1); p.Crashes != 0 || !p.ParkedUntil.IsZero() {
		t.Errorf("pool = %+v", p)
	}
}
