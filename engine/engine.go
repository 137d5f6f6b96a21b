// Package engine owns the seam between the executors that schedule script
// calls and the engines that run them: an Engine loads a Script into an
// Instance, which is called one request at a time. It also holds the
// in-process engine, InProcess.
//
// The package sits below both `actors` (whose executors hold Instances)
// and `worker` (whose Engine runs them in a child process), so neither
// imports the other, and the `picloud worker` child links no actor
// runtime. An engine that runs scripts on another node plugs in here
// beside the two.
//
// It never touches the database or the network.
package engine

import (
	"context"
	"errors"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// ErrWorkerCrashed is wrapped by the errors of an Engine whose instances
// live in another process that died or is restarting: the executor
// answers 502 (actors.CodeCrashed) and loads the script again on its
// next call.
var ErrWorkerCrashed = errors.New("worker process crashed")

// Script is one immutable version of a script, as an Engine loads it.
type Script struct {
	ScriptID int64
	Name     string
	Version  int64
	Source   string
	Hash     string
}

// Engine loads script versions into Instances. The caller owns the
// Instance it gets; where the script runs (this process or a worker
// process) is the Engine's business.
type Engine interface {
	// Load compiles script for app. A problem in the source is a
	// *sandbox.CompileError, a panic while initialising a
	// *sandbox.PanicError; ctx bounds the load.
	Load(ctx context.Context, app string, script Script, opts sandbox.Options) (Instance, error)
}

// Instance is one loaded script version, called one request at a time.
type Instance interface {
	// Call runs the script's Handle. Result.Err wraps ErrWorkerCrashed
	// when the process running it died.
	Call(ctx context.Context, req *sdk.Request) sandbox.Result
	// Close releases the instance.
	Close()
}
