// Package sandbox owns running untrusted Go scripts: it checks a script's
// source (import allowlist, forbidden constructs), compiles it with yaegi
// into an Instance, and calls its Handle function with plain-data requests.
//
// The sandbox is the symbol table: an interpreter knows only the packages
// its script imports, taken from the allowlist (see AllowedImports), with
// host variables replaced by private copies, output captured per call and
// no source ever read from disk. What yaegi cannot forbid (go statements,
// init, //go: directives, writes through pointers the host hands out) is
// refused by a go/parser pass first.
//
// It never touches the database or the network; callers hand it source
// and requests and get back plain values. A call is bounded by its ctx:
// when ctx ends, the interpreter is stopped and the caller gets its answer
// at once. It does not bound memory: that takes a worker process.
package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/traefik/yaegi/interp"

	"github.com/picloud/picloud/sandbox/sdk"
)

// DefaultMaxOutput is the output cap of a call when Options.MaxOutput is 0.
const DefaultMaxOutput = 64 << 10

// DefaultMaxResponseBody is the response cap of a call when
// Options.MaxResponseBody is 0.
const DefaultMaxResponseBody = 6 << 20

// maxTraces caps the yaegi panic trace kept per call (one line per frame).
const maxTraces = 4 << 10

// CompileError is a problem in a script's source, reported at upload.
type CompileError struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// Options bound what one Instance may do.
type Options struct {
	// MaxOutput caps the bytes of fmt.Print*/println/picloud.Log output
	// kept per call (DefaultMaxOutput when 0 or less); output past it is
	// dropped and "[output truncated]" ends Result.Output.
	MaxOutput int
	// MaxResponseBody caps the bytes of a response's body and headers
	// (DefaultMaxResponseBody when 0 or less). A bigger response is not
	// copied: Result.Err is ErrResponseTooLarge.
	MaxResponseBody int
	// LendResponse says the caller is done with each Result's Response
	// before it calls again (or closes the Instance), as a worker that
	// encodes it at once is: the Response is then what the script
	// returned, not a copy of it. A script may keep it and change it
	// in its next call, so a caller that hands the Response on to be
	// read later must leave this false.
	LendResponse bool
}

// Result is the outcome of one call, as plain data.
type Result struct {
	// Response is a copy of what Handle returned (the returned value
	// itself with Options.LendResponse): a nil response is an empty
	// 204, a zero Status is 200.
	Response sdk.Response
	// Output is what the script printed or logged during the call.
	Output   string
	Duration time.Duration
	// Panic is non-nil (a *PanicError) when the script panicked; the
	// Instance must then be discarded.
	Panic error
	// Err is non-nil when the call produced no response: ctx was done
	// before or during the call (wrapping ctx.Err(); during the call the
	// Instance is closed by then), the Instance is closed (ErrClosed), or
	// the response was over the limit (wrapping ErrResponseTooLarge; the
	// Instance stays usable).
	Err error
	// Node is the cluster node that ran the call; "" when this process
	// (or its worker) did.
	Node string
}

// Check validates source and loads it as an executor would (see New):
// it parses and compiles it, runs its package-level initialisers and
// finds Handle, then throws it away without calling Handle. So whatever
// would fail at load fails here, as a *CompileError with a line and
// column: a compile error, a panic in an initialiser, a construct the
// interpreter accepts but cannot run. When ctx ends first, Check returns
// its error.
//
// Check runs untrusted code and compiles without bounds on memory (a
// generic function instantiating itself with ever larger types) or time:
// call it in a process that may die, under limits (worker.RunCheck),
// never in the server.
func Check(ctx context.Context, source string) error {
	in, err := New(ctx, source, Options{})
	if err != nil {
		return loadRefusal(err)
	}
	in.Close()
	return nil
}

// loadRefusal is the error Check returns for a load that failed with err:
// a panic in an initialiser becomes a *CompileError.
func loadRefusal(err error) error {
	var pe *PanicError
	if !errors.As(err, &pe) {
		return err
	}
	ce := &CompileError{Line: max(pe.Line, 1), Column: max(pe.Column, 1),
		Message: "initialising the script's package-level variables panics: " + pe.Value}
	if pe.Func != "" && pe.Func != "main" {
		ce.Message += " (in " + pe.Func + ")"
	}
	return ce
}

// Instance is one compiled interpreter of one script. It is not safe for
// concurrent use: its owner calls it one request at a time.
type Instance struct {
	handle          func(*sdk.Request) *sdk.Response
	out             *cappedBuffer
	traces          *cappedBuffer
	maxResponseBody int
	lendResponse    bool
	// call binds the script's SDK v2 calls to the Host of the call
	// running (see sdk.Call).
	call *sdk.Call
	// interp keeps the interpreter the handle belongs to alive.
	interp *interp.Interpreter
	// stop stops the interpreter for good (see armStop); stopped is
	// closed once it has. It is safe to call from any goroutine.
	stop    context.CancelFunc
	stopped <-chan struct{}
	// released lets the stop switch's evaluation end (see armStop): it is
	// closed by Close, when no call is running, or once a load that
	// failed has stopped evaluating.
	released chan struct{}
	// evaluated is closed when the evaluation of the script's source
	// ends (nil before it started).
	evaluated chan struct{}
	closed    bool
	// watch stops the interpreter when the context of the call running
	// ends; running is the id of the watch of the call running (0: no
	// call; stoppedCall: its context stopped it).
	watch   stopWatch
	running atomic.Uint64
	watches uint64
}

// stopWatch is an instance's registration (context.AfterFunc) with the
// context its calls run under. It is kept from call to call while their
// contexts share a Done channel (an executor's or a worker's instance
// context, with a Host per call on top: see sdk.SplitHost), so a call
// costs no registration, and it holds no call's Host.
type stopWatch struct {
	done    <-chan struct{}
	id      uint64
	unwatch func() bool
}

// stoppedCall is Instance.running once a call's context stopped it.
const stoppedCall = ^uint64(0)

// outcome is what one call of Handle produced.
type outcome struct {
	resp sdk.Response
	err  error // a *PanicError, or ErrResponseTooLarge wrapped
}

// New compiles source into a ready Instance: it refuses what the
// go/parser pass refuses and what does not compile, including what the
// interpreter compiles but cannot run (all as *CompileError), then
// initialises the script's package-level variables, which may run script
// code; a panic there is returned as *PanicError and ctx cancels it.
func New(ctx context.Context, source string, opts Options) (*Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: new instance: %w", err)
	}
	s, err := parseScript(source)
	if err != nil {
		return nil, err
	}
	in, err := build(ctx, s, source, opts)
	var failure *interpreterFailure
	if errors.As(err, &failure) {
		return nil, locateFailure(ctx, s, source, failure)
	}
	return in, err
}

// build is New after the go/parser pass.
func build(ctx context.Context, s *script, source string, opts Options) (*Instance, error) {
	maxOutput := cmp.Or(max(opts.MaxOutput, 0), DefaultMaxOutput)
	stopCtx, stop := context.WithCancel(context.Background())
	in := &Instance{
		out:             newCappedBuffer(maxOutput),
		traces:          newCappedBuffer(maxTraces),
		maxResponseBody: cmp.Or(max(opts.MaxResponseBody, 0), DefaultMaxResponseBody),
		lendResponse:    opts.LendResponse,
		stop:            stop,
		stopped:         stopCtx.Done(),
		released:        make(chan struct{}),
	}
	if err := in.load(ctx, stopCtx, s, source); err != nil {
		stop()
		in.releaseAfterEval()
		return nil, err
	}
	return in, nil
}

// releaseAfterEval releases the stop switch of an instance whose load
// failed, once the evaluation of its source has ended: when ctx ended
// it, it may still be unwinding on the root frame, as a stopped Handle
// may (see armStop).
func (in *Instance) releaseAfterEval() {
	if in.evaluated == nil {
		close(in.released)
		return
	}
	go func() {
		<-in.evaluated
		close(in.released)
	}()
}

// load arms the stop switch, compiles source, runs its initialisers and
// fetches Handle.
func (in *Instance) load(ctx, stopCtx context.Context, s *script, source string) (err error) {
	in.call = sdk.NewCall(in.out)
	in.interp, err = newInterpreter(s.imports, interpOutput{out: in.out, traces: in.traces, stopped: in.stopped, call: in.call})
	if err != nil {
		return err
	}
	// Armed before the script is evaluated: yaegi gives every frame the
	// cancellation channel of the evaluation it was made in, and a
	// closure keeps its maker's. A closure stored in a package-level
	// variable is made while the script is evaluated, so only a switch
	// armed first stops a channel wait inside it.
	if err := armStop(stopCtx, in.released, in.interp); err != nil {
		return err
	}
	if err := in.eval(ctx, source); err != nil {
		return in.loadError(ctx, s, source, err)
	}
	in.handle, err = lookupHandle(in.interp, s)
	return err
}

// eval compiles source and runs its package-level initialisers in one go
// (a plain Eval, which keeps the stop switch's channel; EvalWithContext
// would make a new one). When ctx ends first, the interpreter is stopped
// and eval returns at once.
func (in *Instance) eval(ctx context.Context, source string) error {
	done := make(chan error, 1)
	in.evaluated = make(chan struct{})
	go func() {
		defer close(in.evaluated)
		defer func() {
			// Eval recovers a panic of the script's initialisers; yaegi's
			// compiler may panic too.
			if r := recover(); r != nil {
				done <- interp.Panic{Value: r, Stack: debug.Stack()}
			}
		}()
		_, err := in.interp.Eval(source)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		in.stop()
		return ctx.Err()
	}
}

// loadError explains why evaluating source failed: ctx ended, the source
// does not compile (*CompileError), or initialising a package-level
// variable panicked (*PanicError).
func (in *Instance) loadError(ctx context.Context, s *script, source string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("sandbox: initialise script: %w", ctxErr)
	}
	var p interp.Panic
	if !errors.As(err, &p) {
		return compileError(err)
	}
	if failure, ok := asInterpreterFailure(p); ok {
		return failure
	}
	// yaegi panics on some sources it cannot compile, too: compile on a
	// fresh interpreter to tell the two apart.
	fresh, ferr := newInterpreter(s.imports, interpOutput{out: io.Discard, traces: io.Discard})
	if ferr != nil {
		return ferr
	}
	if cerr := compile(fresh, source); cerr != nil {
		return cerr
	}
	return fmt.Errorf("sandbox: initialise script: %w", newPanicError(p.Value, in.traces.String()))
}

// compile compiles source into i. yaegi reports problems as errors, and
// on inputs it cannot handle sometimes by panicking: both become a
// *CompileError.
func compile(i *interp.Interpreter, source string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			// yaegi's panics often start with the position ("35:27: CFG
			// post-order panic: ...").
			ce := compileError(errors.New(formatPanicValue(r)))
			ce.Message = "the interpreter cannot compile this: " + ce.Message
			err = ce
		}
	}()
	if _, err := i.Compile(source); err != nil {
		return compileError(err)
	}
	return nil
}

// lookupHandle fetches main.Handle once, as a plain Go func: calling it
// costs about a microsecond, where an Eval per request costs 50-200 us and
// leaks.
func lookupHandle(i *interp.Interpreter, s *script) (func(*sdk.Request) *sdk.Response, error) {
	v, err := i.Eval("main.Handle")
	if err != nil {
		return nil, fmt.Errorf("sandbox: look up main.Handle: %w", err)
	}
	if v.IsValid() && v.CanInterface() {
		if fn, ok := v.Interface().(func(*sdk.Request) *sdk.Response); ok && fn != nil {
			return fn, nil
		}
	}
	typ := "invalid"
	if v.IsValid() {
		typ = v.Type().String()
	}
	return nil, &CompileError{
		Line:    s.handle.Line,
		Column:  s.handle.Column,
		Message: fmt.Sprintf("func Handle has type %s: declare %s", typ, handleSignature),
	}
}

// Call runs the script's Handle on a copy of req and converts what it
// returns to plain data, all within ctx. When ctx ends first, Call stops
// the interpreter: loops, channel operations and time.Sleep end at once,
// and Call returns with Err wrapping ctx.Err(). The Instance is closed
// then: build a new one.
//
// Handle runs on the caller's goroutine: a hand-off to another one would
// cost more than the rest of a small call. So only a single long call of
// a host function (a huge strings.Repeat, say) can outlast ctx, by as
// long as that call takes.
func (in *Instance) Call(ctx context.Context, req *sdk.Request) Result {
	if in.closed {
		return Result{Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return Result{Err: fmt.Errorf("sandbox: call not started: %w", err)}
	}
	base, host := sdk.SplitHost(ctx)
	in.out.Reset()
	in.traces.Reset()
	start := time.Now()
	id := in.watchCalls(base)
	in.running.Store(id)
	if id != 0 && base.Err() != nil {
		// ctx ended since it was checked; its watch may have stopped
		// the interpreter already.
		if !in.running.CompareAndSwap(id, 0) {
			in.Close()
		}
		return Result{Err: fmt.Errorf("sandbox: call not started: %w", ctx.Err())}
	}
	in.call.Begin(ctx, host)
	o := in.invoke(in.handle, cloneRequest(req))
	in.call.End()
	if id != 0 && !in.running.CompareAndSwap(id, 0) {
		// ctx ended during the call and the interpreter was stopped (the
		// stop may still be finishing on another goroutine; it is safe
		// to repeat).
		in.Close()
		return Result{Err: fmt.Errorf("sandbox: call stopped: %w", ctx.Err()),
			Output: in.out.String(), Duration: time.Since(start)}
	}
	return in.result(o, time.Since(start))
}

// watchCalls makes ctx's end stop the interpreter while a call runs under
// ctx and returns the id of that watch (0 when ctx never ends). A watch
// made for an earlier context with the same Done channel is reused; one
// for another is dropped.
func (in *Instance) watchCalls(ctx context.Context) uint64 {
	done := ctx.Done()
	if done == nil {
		return 0
	}
	if done == in.watch.done {
		return in.watch.id
	}
	in.unwatch()
	in.watches++
	id := in.watches
	running, stop := &in.running, in.stop
	in.watch = stopWatch{done: done, id: id, unwatch: context.AfterFunc(ctx, func() {
		if running.CompareAndSwap(id, stoppedCall) {
			stop()
		}
	})}
	return id
}

// unwatch drops the instance's watch.
func (in *Instance) unwatch() {
	if in.watch.unwatch != nil {
		in.watch.unwatch()
	}
	in.watch = stopWatch{}
}

func (in *Instance) result(o outcome, d time.Duration) Result {
	res := Result{Duration: d, Response: o.resp, Output: in.out.String()}
	if o.err == nil {
		return res // errors.As would allocate its target
	}
	var pe *PanicError
	if errors.As(o.err, &pe) {
		res.Panic = pe
	} else {
		res.Err = o.err
	}
	return res
}

// invoke calls Handle and copies its response out, turning a panic into a
// *PanicError and a response over the limit into ErrResponseTooLarge
// (without copying it).
func (in *Instance) invoke(handle func(*sdk.Request) *sdk.Response, req *sdk.Request) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = outcome{err: newPanicError(r, in.traces.String())}
		}
	}()
	resp := handle(req)
	if n := responseSize(resp); n > in.maxResponseBody {
		return outcome{err: fmt.Errorf("%w: %d bytes, over the limit of %d", ErrResponseTooLarge, n, in.maxResponseBody)}
	}
	if in.lendResponse {
		return outcome{resp: lendResponse(resp)}
	}
	return outcome{resp: copyResponse(resp)}
}

// responseSize is the size of the body and headers of r.
func responseSize(r *sdk.Response) int {
	if r == nil {
		return 0
	}
	n := len(r.Body)
	for k, v := range r.Headers {
		n += len(k) + len(v)
	}
	for _, h := range r.Added {
		n += len(h.Name) + len(h.Value)
	}
	return n
}

// Close stops the interpreter and releases it. Calls after Close return
// ErrClosed.
func (in *Instance) Close() {
	if in.closed {
		return
	}
	in.closed = true
	in.unwatch()
	in.stop()
	close(in.released)
	in.handle = nil
	in.interp = nil
}

// cloneRequest deep-copies req, so nothing the script does to its request
// reaches the caller's.
func cloneRequest(req *sdk.Request) *sdk.Request {
	if req == nil {
		return &sdk.Request{}
	}
	c := *req
	c.Params = maps.Clone(req.Params)
	c.DomainParams = maps.Clone(req.DomainParams)
	c.Headers = maps.Clone(req.Headers)
	c.Body = bytes.Clone(req.Body)
	if req.Query != nil {
		c.Query = make(url.Values, len(req.Query))
		for k, v := range req.Query {
			c.Query[k] = append([]string(nil), v...)
		}
	}
	return &c
}

// copyResponse copies what a script returned into plain data it can no
// longer reach.
func copyResponse(r *sdk.Response) sdk.Response {
	if r == nil {
		return sdk.Response{Status: 204}
	}
	c := sdk.Response{Status: r.Status, Headers: maps.Clone(r.Headers), Body: bytes.Clone(r.Body), Added: slices.Clone(r.Added)}
	if c.Status == 0 {
		c.Status = 200
	}
	return c
}

// lendResponse is copyResponse without the copies.
func lendResponse(r *sdk.Response) sdk.Response {
	if r == nil {
		return sdk.Response{Status: 204}
	}
	c := *r
	if c.Status == 0 {
		c.Status = 200
	}
	return c
}
