package actors

import (
	"context"
	"errors"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// ErrWorkerCrashed is wrapped by the errors of an Engine whose instances
// live in another process that died or is restarting: the executor
// answers 502 (CodeCrashed) and loads the script again on its next call.
var ErrWorkerCrashed = errors.New("worker process crashed")

// ErrCausedCrash is wrapped, with ErrWorkerCrashed, by the error of the
// load or call that an Engine holds responsible for its process's death:
// the one the process's last words name, or else every one that was
// running in it. The executor counts it as a crash of its script (see
// parking.go); any other call that was in flight in the dying process
// fails with ErrWorkerCrashed alone and counts for nothing.
var ErrCausedCrash = errors.New("it killed its worker process")

// ErrInstanceLost is wrapped, with ErrWorkerCrashed, by the error of a
// call on an Instance whose process had died before the call was sent:
// nothing ran. The executor loads the script again and runs the call in
// the restarted process.
var ErrInstanceLost = errors.New("the instance was lost with its worker process")

// Engine loads script versions into Instances. The executor owns the
// Instance it gets; where the script runs (this process or a worker
// process) is the Engine's business.
type Engine interface {
	// Load compiles script for app. A problem in the source is a
	// *sandbox.CompileError, a panic while initialising a
	// *sandbox.PanicError; ctx bounds the load.
	Load(ctx context.Context, app AppRef, script ScriptVersion, opts sandbox.Options) (Instance, error)
}

// AppRef names the app a script belongs to. An Engine keys what it keeps
// per app (a worker process) by ID, which never changes; Slug, which a
// rename changes and another app may take over, only labels logs.
type AppRef struct {
	ID   int64
	Slug string
}

// Instance is one loaded script version, called one request at a time.
type Instance interface {
	// Call runs the script's Handle. Result.Err wraps ErrWorkerCrashed
	// when the process running it died (and ErrCausedCrash when this call
	// killed it), ErrInstanceLost when the process was gone before the
	// call was sent.
	Call(ctx context.Context, req *sdk.Request) sandbox.Result
	// Close releases the instance.
	Close()
}

// InProcess is the Engine that runs scripts inside this process: the
// trusted single-tenant and benchmark set-up (executor.isolation "none").
type InProcess struct{}

// Load implements Engine.
func (InProcess) Load(ctx context.Context, _ AppRef, script ScriptVersion, opts sandbox.Options) (Instance, error) {
	inst, err := newInstance(ctx, script.Source, opts)
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// Option configures a Runtime.
type Option func(*Runtime)

// WithEngine makes the Runtime's executors load scripts through e
// (InProcess when not given).
func WithEngine(e Engine) Option {
	return func(rt *Runtime) { rt.engine = e }
}
