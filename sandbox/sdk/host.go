package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Triggers: what started a call, as Request.Trigger says.
const (
	TriggerHTTP     = "http"
	TriggerSchedule = "schedule"
	TriggerInvoke   = "invoke"
)

// Host serves the SDK calls of one script call that reach beyond it:
// key-value storage, secrets, outbound HTTP and calls of other scripts,
// all scoped to the calling script's app. The server implements it
// against its stores; a worker process implements it by asking the
// server. Scripts never see it: they call picloud.KV, picloud.Secret,
// picloud.Fetch and picloud.Invoke, which the sandbox binds to the Host
// of the call running (see Call).
//
// ctx is the call's: its deadline is the script's time budget.
type Host interface {
	KVGet(ctx context.Context, key string) ([]byte, bool, error)
	KVSet(ctx context.Context, key string, value []byte, ttl time.Duration) error
	KVDelete(ctx context.Context, key string) error
	KVList(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error)
	KVIncrement(ctx context.Context, key string, delta int64) (int64, error)
	Secret(ctx context.Context, name string) (string, bool, error)
	Fetch(ctx context.Context, req *FetchRequest) (*FetchResponse, error)
	Invoke(ctx context.Context, script string, req *Request) (*Response, error)
}

type hostKey struct{}

// WithHost returns ctx carrying h: a script called with it reaches h
// through the SDK.
func WithHost(ctx context.Context, h Host) context.Context {
	return &hostCtx{Context: ctx, host: h}
}

// hostCtx is a context carrying a Host, which SplitHost takes apart.
type hostCtx struct {
	context.Context
	host Host
}

func (c *hostCtx) Value(key any) any {
	if key == (hostKey{}) {
		return c.host
	}
	return c.Context.Value(key)
}

// SplitHost returns the context ctx was made from by WithHost and the
// Host it carries; for any other ctx, ctx itself and HostFrom(ctx). The
// sandbox watches the first for the end of a call: it is the same for
// every call of an instance while the Host is not, and a watch kept from
// call to call must not keep one call's Host alive.
func SplitHost(ctx context.Context) (context.Context, Host) {
	if c, ok := ctx.(*hostCtx); ok {
		return c.Context, c.host
	}
	return ctx, HostFrom(ctx)
}

// HostFrom returns the Host ctx carries, or nil.
func HostFrom(ctx context.Context) Host {
	h, _ := ctx.Value(hostKey{}).(Host)
	return h
}

// ErrNoHost is the error of an SDK call made where it cannot reach the
// server: outside Handle (while the script's package is initialised), or
// on an engine that carries no Host.
var ErrNoHost = errors.New("not available here: picloud.KV, Secret, Fetch and Invoke work inside Handle only")

// Call is where the SDK calls of one interpreter go: the sandbox points
// it at the context and Host of the call that is running, and back at
// nothing when the call ends. One interpreter runs one call at a time,
// on one goroutine, so Call needs no lock.
type Call struct {
	ctx  context.Context
	host Host
	// out receives what the script should know of a failure it cannot
	// see as an error (picloud.Secret has no error result).
	out io.Writer
}

// NewCall returns a Call bound to nothing, reporting to out.
func NewCall(out io.Writer) *Call {
	if out == nil {
		out = io.Discard
	}
	return &Call{out: out}
}

// Begin binds c to ctx and h, the Host it carries.
func (c *Call) Begin(ctx context.Context, h Host) {
	c.ctx, c.host = ctx, h
}

// End unbinds c.
func (c *Call) End() {
	c.ctx, c.host = nil, nil
}

func (c *Call) current() (context.Context, Host, error) {
	if c == nil || c.host == nil {
		return nil, nil, ErrNoHost
	}
	return c.ctx, c.host, nil
}

// KV returns the picloud.KV a script of c sees.
func (c *Call) KV() KVNamespace { return KVNamespace{call: c} }

// Secret is picloud.Secret: the value of the app's secret name, and
// whether the app has it. A failure to read it is written to the
// script's output and reads as not set.
func (c *Call) Secret(name string) (string, bool) {
	ctx, h, err := c.current()
	if err == nil {
		var v string
		var ok bool
		if v, ok, err = h.Secret(ctx, name); err == nil {
			return v, ok
		}
	}
	fmt.Fprintf(c.out, "picloud.Secret(%q): %v\n", name, err)
	return "", false
}

// Fetch is picloud.Fetch: an outbound HTTP request.
func (c *Call) Fetch(req *FetchRequest) (*FetchResponse, error) {
	ctx, h, err := c.current()
	if err != nil {
		return nil, fmt.Errorf("picloud.Fetch: %w", err)
	}
	if req == nil {
		return nil, errors.New("picloud.Fetch: request is nil")
	}
	r := *req
	return h.Fetch(ctx, &r)
}

// Invoke is picloud.Invoke: a call of another script of the same app,
// through its router like an HTTP call. req may be nil (an empty GET /).
func (c *Call) Invoke(script string, req *Request) (*Response, error) {
	ctx, h, err := c.current()
	if err != nil {
		return nil, fmt.Errorf("picloud.Invoke: %w", err)
	}
	r := &Request{}
	if req != nil {
		*r = *req
	}
	return h.Invoke(ctx, script, r)
}

// KVNamespace is picloud.KV: the key-value storage of the script's app.
// Keys are up to 512 bytes of UTF-8, values up to 1 MiB; what a call
// writes it reads back at once; concurrent writers to one key: the last
// write wins.
type KVNamespace struct {
	call *Call
}

func (kv KVNamespace) host(op string) (context.Context, Host, error) {
	ctx, h, err := kv.call.current()
	if err != nil {
		return nil, nil, fmt.Errorf("picloud.KV.%s: %w", op, err)
	}
	return ctx, h, nil
}

// Get returns the value of key, and false when there is none (or it
// expired).
func (kv KVNamespace) Get(key string) ([]byte, bool, error) {
	ctx, h, err := kv.host("Get")
	if err != nil {
		return nil, false, err
	}
	return h.KVGet(ctx, key)
}

// Set stores value under key; ttl > 0 makes it expire that long from
// now, 0 keeps it until it is deleted.
func (kv KVNamespace) Set(key string, value []byte, ttl time.Duration) error {
	ctx, h, err := kv.host("Set")
	if err != nil {
		return err
	}
	if ttl < 0 {
		return fmt.Errorf("picloud.KV.Set: ttl %s is negative", ttl)
	}
	return h.KVSet(ctx, key, value, ttl)
}

// Delete removes key; a key that is not there is no error.
func (kv KVNamespace) Delete(key string) error {
	ctx, h, err := kv.host("Delete")
	if err != nil {
		return err
	}
	return h.KVDelete(ctx, key)
}

// List returns up to limit keys that start with prefix, in bytewise
// order, after cursor ("" for the first page), and the cursor of the
// next page ("" after the last). limit 0 means 100; at most 1000.
func (kv KVNamespace) List(prefix, cursor string, limit int) ([]string, string, error) {
	ctx, h, err := kv.host("List")
	if err != nil {
		return nil, "", err
	}
	return h.KVList(ctx, prefix, cursor, limit)
}

// Increment adds delta to the decimal integer stored under key (a
// missing key counts as 0) and returns the sum, atomically: concurrent
// increments, on any server, all count.
func (kv KVNamespace) Increment(key string, delta int64) (int64, error) {
	ctx, h, err := kv.host("Increment")
	if err != nil {
		return 0, err
	}
	return h.KVIncrement(ctx, key, delta)
}

// GetJSON decodes the JSON value of key into v, and reports false when
// there is none.
func (kv KVNamespace) GetJSON(key string, v any) (bool, error) {
	b, ok, err := kv.Get(key)
	if err != nil || !ok {
		return ok, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("picloud.KV.GetJSON(%q): %s", key, err.Error())
	}
	return true, nil
}

// SetJSON stores v as JSON under key (see Set).
func (kv KVNamespace) SetJSON(key string, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("picloud.KV.SetJSON(%q): %s", key, err.Error())
	}
	return kv.Set(key, b, ttl)
}
