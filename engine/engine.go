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

// ErrCausedCrash is wrapped, with ErrWorkerCrashed, by the error of the
// load or call that an Engine holds responsible for its process's death:
// the one the process's last words name, or else every one that was
// running in it. The executor counts it as a crash of its script (see
// actors/parking.go); any other call that was in flight in the dying
// process fails with ErrWorkerCrashed alone and counts for nothing.
var ErrCausedCrash = errors.New("it killed its worker process")

// ErrNoExecutor is wrapped, with ErrWorkerCrashed, by the error of a
// load an Engine had nowhere to place: in a cluster, no live member has
// the executor role. The executor answers 503 (actors.CodeNoExecutor)
// and tries again on its next call, counting no crash.
var ErrNoExecutor = errors.New("no executor is available")

// ErrInstanceLost is wrapped, with ErrWorkerCrashed, by the error of a
// call on an Instance whose process had died before the call was sent:
// nothing ran. The executor loads the script again and runs the call in
// the restarted process.
var ErrInstanceLost = errors.New("the instance was lost with its worker process")

// ErrExecutorLost is wrapped, with ErrWorkerCrashed, by the error of a
// load or call of an Engine whose instances live on another node, when
// that node went away (died, or left while the call was on its way)
// before it answered: the executor answers 502 (actors.CodeExecutorLost)
// and loads the script again, on a live node, on its next call.
var ErrExecutorLost = errors.New("the node running this script's executor went away")

// AppRef names the app a script belongs to. An Engine keys what it keeps
// per app (a worker process) by ID, which never changes; Slug, which a
// rename changes and another app may take over, only labels logs.
type AppRef struct {
	ID   int64
	Slug string
}

// Script is one immutable version of a script, as an Engine loads it.
type Script struct {
	ScriptID int64
	Name     string
	Version  int64
	Source   string
	Hash     string
	// Slot is the index, among the executors of this version in one
	// app's router, of the executor that loads it (0 up to the script's
	// concurrency limit). A local engine ignores it; a remote one places
	// each slot's instance by it, so a hot script's executors spread
	// over the cluster.
	Slot int
}

// Engine loads script versions into Instances. The caller owns the
// Instance it gets; where the script runs (this process or a worker
// process) is the Engine's business.
type Engine interface {
	// Load compiles script for app. A problem in the source is a
	// *sandbox.CompileError, a panic while initialising a
	// *sandbox.PanicError; ctx bounds the load.
	Load(ctx context.Context, app AppRef, script Script, opts sandbox.Options) (Instance, error)
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

// Starter is an Instance whose calls can complete on a callback instead
// of a goroutine blocked in Call: for an instance in another process,
// the connection's reader then answers the caller directly, which saves
// a goroutine hand-off per call. Calls stay one at a time: Start is not
// called again before the previous call's done ran.
type Starter interface {
	Instance
	// Start sends a call of the script's Handle and returns. done is
	// called exactly once with what Call would have returned, on
	// whichever goroutine settles the call (possibly before Start
	// returns); it must not block.
	Start(ctx context.Context, req *sdk.Request, done func(sandbox.Result))
	// Abandon gives up on the call Start sent last, if it is still
	// running (its time budget ran out): its done gets an error wrapping
	// context.DeadlineExceeded.
	Abandon()
}
