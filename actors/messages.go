package actors

import (
	"time"

	"github.com/picloud/picloud/engine"
)

// Header is one HTTP header.
type Header struct {
	Name  string
	Value string
}

// Request is an HTTP request bound for a script, as plain data.
type Request struct {
	Method    string
	Path      string
	Host      string
	RawQuery  string
	RequestID string
	Headers   []Header
	Body      []byte
	// DomainParams are the parameters captured by the app's domain claim.
	DomainParams map[string]string
	// Trigger is what started the call: sdk.TriggerHTTP when empty,
	// sdk.TriggerSchedule or sdk.TriggerInvoke.
	Trigger string
	// Depth counts the picloud.Invoke calls that led to this one.
	Depth int
}

// Invoke asks an app's router to run the script whose route matches
// Request, or the script ScriptID when it is non-zero (routes bypassed).
// Exactly one Result is written to Reply, by the executor or the router.
type Invoke struct {
	Request  *Request
	ScriptID int64
	Reply    *Reply
}

// Error codes of a Result that did not come from the script.
const (
	CodeNotFound         = "not_found"          // no route, or no such script in the app
	CodeMethodNotAllowed = "method_not_allowed" // routes match the path, none the method (405, Allow in Headers)
	CodePanic            = "script_panic"       // the script panicked (500)
	CodeTimeout          = "script_timeout"     // the time budget ran out (504)
	CodeSaturated        = "saturated"          // the script's pool and queue are full (503)
	CodeParked           = "script_parked"      // the script crashed too often and rests (503)
	CodeTooLarge         = "response_too_large" // the script's response is over its limit (500)
	CodeLoadFailed       = "script_load"        // the script did not compile in the executor (500)
	CodeCrashed          = "worker_crashed"     // the executor's process died (502)
	CodeExecutorLost     = "executor_lost"      // the node running the executor went away (502)
	CodeUnavailable      = "unavailable"        // the app's router is stopping or gone (503)
	CodeNoExecutor       = "no_executor"        // no node with the executor role is alive (503)
	CodeInternal         = "internal"           // anything else (500)
)

// Result is the outcome of an Invoke.
type Result struct {
	Status  int
	Headers []Header
	Body    []byte
	// ErrCode is empty when the script produced the response; otherwise
	// one of the Code* constants, with ErrMessage saying what happened.
	ErrCode    string
	ErrMessage string

	RouteID  int64
	ScriptID int64
	Version  int64
	Output   string
	Duration time.Duration
	// Fetches are the outbound requests the script made.
	Fetches []FetchRecord
	// RetryAfter, when positive, is when to try again (a 503's
	// Retry-After).
	RetryAfter time.Duration
	// Node is the cluster node that ran the script; "" when this one did.
	Node string
}

// Reply is the single-use slot an Invoke's Result is written to. It is
// how an executor answers the waiting ingress without a future.
type Reply struct {
	ch chan Result
}

// NewReply returns an empty slot.
func NewReply() *Reply { return &Reply{ch: make(chan Result, 1)} }

// MakeReply returns an empty slot as a value, for a caller that embeds
// it in a struct of its own (one allocation per request instead of
// several). Take its address once and do not copy it after that.
func MakeReply() Reply { return Reply{ch: make(chan Result, 1)} }

// Send writes the result. Only the first Send of a slot is kept.
func (r *Reply) Send(res Result) {
	select {
	case r.ch <- res:
	default:
	}
}

// C is the channel the Result arrives on.
func (r *Reply) C() <-chan Result { return r.ch }

// AppSnapshot is everything a router needs to serve one app. The control
// plane sends a new one after every change; the router swaps its state.
type AppSnapshot struct {
	AppID   int64
	Slug    string
	Scripts []ScriptVersion // the live version of every script of the app
	Routes  []Route
	Limits  Limits
	// Parked are the parkings other nodes (or this one, before a
	// restart) made of the app's script versions (parking.go).
	Parked []Parked
}

// ScriptVersion is one compiled-at-upload version of a script, and the
// limits its executors run under.
type ScriptVersion struct {
	engine.Script
	// Limits, when set, replace the app's limits for this script (the
	// control plane merges config, app and script settings into it).
	Limits *Limits
}

// Route binds Method + Path to a script.
type Route struct {
	ID       int64
	Method   string
	Path     string
	ScriptID int64
}

// Limits bound the executors of an app's scripts.
type Limits struct {
	MaxConcurrency  int           // executors per script version
	QueueLimit      int           // requests waiting per script version before 503
	QueueTimeout    time.Duration // a request waiting longer for an executor gets 503
	Timeout         time.Duration // wall time per invocation
	MaxOutput       int           // bytes of output kept per invocation
	MaxResponseBody int           // bytes of response body and headers, else 500
	IdleTimeout     time.Duration // an idle executor stops after this
	// A script version that crashes its executor (panic, timeout) more
	// than CrashLimit times within CrashWindow is parked: answered 503
	// without running until CrashWindow has passed or a new version is
	// deployed.
	CrashLimit  int
	CrashWindow time.Duration
}

// Inspect asks a router for a RouterStatus, sent to Reply without
// blocking: make Reply buffered. For metrics, the admin API and tests.
type Inspect struct {
	Reply chan<- RouterStatus
}

// RouterStatus is what a router holds at one moment.
type RouterStatus struct {
	AppID  int64
	Slug   string
	Routes int
	// Pools lists the pool of every live script version, then the pools
	// of replaced versions still draining.
	Pools []PoolStatus
}

// PoolStatus is the state of the executors of one script version.
type PoolStatus struct {
	ScriptID  int64
	Version   int64
	Live      bool // false: replaced by a newer version, draining
	Executors int  // running executors, busy and idle
	Idle      int
	Queued    int
	// Crashes counts the executor crashes within the current window.
	Crashes int
	// ParkedUntil is set while the version is parked; ParkReason says why.
	ParkedUntil time.Time
	ParkReason  string
}
