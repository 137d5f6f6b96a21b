package worker

import (
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// The protocol's conversions, for other transports that carry the same
// messages (a call to an executor on another cluster node): a request,
// result or error crosses them exactly as it crosses the socket to a
// worker process.

// WireRequest is req as the protocol carries it. It shares req's maps
// and body.
func WireRequest(req *sdk.Request) *Request {
	var c callFrame
	c.set(0, req)
	return &c.req
}

// SDKRequest is the request r carries. It takes over r's maps and body.
func (r *Request) SDKRequest() *sdk.Request {
	var dst sdk.Request
	r.fill(&dst)
	return &dst
}

// WireResult is out as the protocol carries it.
func WireResult(out sandbox.Result) *Result {
	var rf resultFrame
	rf.set(0, out)
	return &rf.result
}

// SandboxResult is the result a sandbox in this process would have
// returned.
func (r *Result) SandboxResult() sandbox.Result { return r.sandboxResult() }

// WireError is err as the protocol carries it: compile errors and panics
// keep their line and column; nil stays nil.
func WireError(err error) *Error { return wireError(err) }

// Err is the error e carries (a *sandbox.CompileError, a
// *sandbox.PanicError, ...); nil for a nil e.
func (e *Error) Err() error { return e.asError() }
