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
// and requests and get back plain values. It does not bound time or
// memory: executors run instances in supervised worker processes.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"time"

	"github.com/traefik/yaegi/interp"

	"github.com/picloud/picloud/sandbox/sdk"
)

// DefaultMaxOutput is the output cap of a call when Options.MaxOutput is 0.
const DefaultMaxOutput = 64 << 10

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
}

// Result is the outcome of one call, as plain data.
type Result struct {
	// Response is a copy of what Handle returned: a nil response is an
	// empty 204, a zero Status is 200.
	Response sdk.Response
	// Output is what the script printed or logged during the call.
	Output   string
	Duration time.Duration
	// Panic is non-nil (a *PanicError) when the script panicked; the
	// Instance must then be discarded.
	Panic error
	// Err is non-nil when the script was not called at all: ctx was done
	// (wrapping ctx.Err()) or the Instance is closed (ErrClosed).
	Err error
}

// Check validates and trial-compiles source without running any of it. A
// problem in the source is returned as *CompileError.
func Check(source string) error {
	s, err := parseScript(source)
	if err != nil {
		return err
	}
	i, err := newInterpreter(s.imports, interpOutput{out: io.Discard, traces: io.Discard})
	if err != nil {
		return err
	}
	return compile(i, source)
}

// Instance is one compiled interpreter of one script. It is not safe for
// concurrent use: its owner calls it one request at a time.
type Instance struct {
	handle func(*sdk.Request) *sdk.Response
	out    *cappedBuffer
	traces *cappedBuffer
	// interp keeps the interpreter the handle belongs to alive.
	interp *interp.Interpreter
}

// New compiles source into a ready Instance: it checks source as Check
// does (returning *CompileError), then initialises the script's
// package-level variables, which may run script code; a panic there is
// returned as *PanicError and ctx cancels it.
func New(ctx context.Context, source string, opts Options) (*Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: new instance: %w", err)
	}
	s, err := parseScript(source)
	if err != nil {
		return nil, err
	}
	maxOutput := opts.MaxOutput
	if maxOutput <= 0 {
		maxOutput = DefaultMaxOutput
	}
	in := &Instance{out: newCappedBuffer(maxOutput), traces: newCappedBuffer(maxTraces)}
	in.interp, err = newInterpreter(s.imports, interpOutput{out: in.out, traces: in.traces})
	if err != nil {
		return nil, err
	}
	// EvalWithContext compiles and runs the package-level initialisers in
	// one go, stopping them if ctx ends. (ExecuteWithContext would let us
	// compile first, but it races with itself on cancellation.)
	if _, err := in.interp.EvalWithContext(ctx, source); err != nil {
		return nil, in.loadError(ctx, s, source, err)
	}
	if in.handle, err = lookupHandle(in.interp, s); err != nil {
		return nil, err
	}
	return in, nil
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
			err = &CompileError{Line: 1, Column: 1, Message: fmt.Sprintf("the interpreter cannot compile this script: %v", r)}
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

// Call runs the script's Handle on a copy of req. It checks ctx before
// calling but does not yet bound the call's duration.
func (in *Instance) Call(ctx context.Context, req *sdk.Request) Result {
	if in.handle == nil {
		return Result{Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return Result{Err: fmt.Errorf("sandbox: call not started: %w", err)}
	}
	in.out.Reset()
	in.traces.Reset()
	req = cloneRequest(req)
	start := time.Now()
	resp, perr := in.invoke(req)
	res := Result{Duration: time.Since(start), Panic: perr}
	if perr == nil {
		res.Response = copyResponse(resp)
	}
	res.Output = in.out.String()
	return res
}

// invoke calls Handle, turning a panic into a *PanicError.
func (in *Instance) invoke(req *sdk.Request) (resp *sdk.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, newPanicError(r, in.traces.String())
		}
	}()
	return in.handle(req), nil
}

// Close releases the interpreter. Calls after Close return ErrClosed.
func (in *Instance) Close() {
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
	c := sdk.Response{Status: r.Status, Headers: maps.Clone(r.Headers), Body: bytes.Clone(r.Body)}
	if c.Status == 0 {
		c.Status = 200
	}
	return c
}
