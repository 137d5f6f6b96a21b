package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
)

// SDK v2 in a worker. A script's picloud.KV, Secret, Fetch and Invoke
// reach a HostClient asking through remoteHost, which sends a HostCall
// frame naming the Call the script is running and waits for the
// HostAnswer; the server serves it
// with the sdk.Host of that call (serveHostCall), the one the executor
// opened for it, scoped to the app. The worker holds no database handle,
// socket or file: it only asks.

// maxHostCalls bounds the host calls one worker may have served at
// once; past it they are refused, so a worker cannot flood the server.
const maxHostCalls = 64

// remoteHost is how a HostClient of one call in a worker asks: over the
// worker's socket.
type remoteHost struct {
	c    *child
	call uint64 // the id of the Call frame
}

// ask sends hc and waits for its answer, or for ctx to end (the host
// gave up on the call and unloaded the instance).
func (h *remoteHost) ask(ctx context.Context, hc *HostCall) (*HostAnswer, error) {
	hc.Call = h.call
	ch := make(chan *HostAnswer, 1)
	h.c.hostMu.Lock()
	h.c.hostNext++
	id := h.c.hostNext
	h.c.hostWait[id] = ch
	h.c.hostMu.Unlock()
	defer func() {
		h.c.hostMu.Lock()
		delete(h.c.hostWait, id)
		h.c.hostMu.Unlock()
	}()
	if err := h.c.w.write(&Frame{Id: id, Body: &Frame_HostCall{HostCall: hc}}); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the call is over: %w", ctx.Err())
	}
}

// HostClient is the sdk.Host of a call whose host services are served
// elsewhere, over HostCall messages: by the server for a worker (over its
// socket), by the calling node for an executor on another cluster node.
// Ask sends one HostCall and returns its answer; a failed answer becomes
// the error the script sees.
type HostClient struct {
	Ask func(ctx context.Context, hc *HostCall) (*HostAnswer, error)
}

var _ sdk.Host = HostClient{}

func (h HostClient) ask(ctx context.Context, hc *HostCall) (*HostAnswer, error) {
	a, err := h.Ask(ctx, hc)
	if err != nil {
		return nil, err
	}
	if a.GetFailed() {
		return a, errors.New(a.GetError())
	}
	return a, nil
}

// answerHost hands the answer id to the call waiting for it, if any.
func (c *child) answerHost(id uint64, a *HostAnswer) {
	c.hostMu.Lock()
	ch := c.hostWait[id]
	c.hostMu.Unlock()
	if ch != nil {
		ch <- a
	}
}

func (h HostClient) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	a, err := h.ask(ctx, &HostCall{Op: HostCall_OP_KV_GET, Key: key})
	if err != nil {
		return nil, false, err
	}
	return a.GetValue(), a.GetFound(), nil
}

func (h HostClient) KVSet(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := h.ask(ctx, &HostCall{Op: HostCall_OP_KV_SET, Key: key, Value: value, TtlNs: int64(ttl)})
	return err
}

func (h HostClient) KVDelete(ctx context.Context, key string) error {
	_, err := h.ask(ctx, &HostCall{Op: HostCall_OP_KV_DELETE, Key: key})
	return err
}

func (h HostClient) KVList(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	a, err := h.ask(ctx, &HostCall{Op: HostCall_OP_KV_LIST, Key: prefix, Cursor: cursor, Limit: int32(min(max(limit, -1), 1<<20))})
	if err != nil {
		return nil, "", err
	}
	return a.GetKeys(), a.GetCursor(), nil
}

func (h HostClient) KVIncrement(ctx context.Context, key string, delta int64) (int64, error) {
	a, err := h.ask(ctx, &HostCall{Op: HostCall_OP_KV_INCREMENT, Key: key, Delta: delta})
	if err != nil {
		return 0, err
	}
	return a.GetNumber(), nil
}

func (h HostClient) Secret(ctx context.Context, name string) (string, bool, error) {
	a, err := h.ask(ctx, &HostCall{Op: HostCall_OP_SECRET, Key: name})
	if err != nil {
		return "", false, err
	}
	return string(a.GetValue()), a.GetFound(), nil
}

func (h HostClient) Fetch(ctx context.Context, req *sdk.FetchRequest) (*sdk.FetchResponse, error) {
	a, err := h.ask(ctx, &HostCall{Op: HostCall_OP_FETCH, Fetch: &FetchRequest{
		Method: req.Method, Url: req.URL, Headers: req.Headers, Body: req.Body, TimeoutNs: int64(req.Timeout)}})
	if err != nil {
		return nil, err
	}
	r := a.GetResponse()
	return &sdk.FetchResponse{Status: int(r.GetStatus()), Headers: r.GetHeaders(), Body: r.GetBody()}, nil
}

func (h HostClient) Invoke(ctx context.Context, script string, req *sdk.Request) (*sdk.Response, error) {
	c := new(callFrame)
	c.set(0, req)
	a, err := h.ask(ctx, &HostCall{Op: HostCall_OP_INVOKE, Key: script, Request: &c.req})
	if err != nil {
		return nil, err
	}
	r := a.GetResponse()
	return &sdk.Response{Status: int(r.GetStatus()), Headers: r.GetHeaders(), Body: r.GetBody(),
		Added: headerLinesFromWire(r.GetAddedHeaders())}, nil
}

// ServeHostCall runs hc against host within ctx, the call's, and
// returns the answer to send back (failed when host did).
func ServeHostCall(ctx context.Context, host sdk.Host, hc *HostCall) *HostAnswer {
	return serveHostCall(ctx, host, hc)
}

// hostCall serves the HostCall id the worker sent, with the Host of the
// call it names, on a goroutine of its own; the answer goes back under
// id. A call that is not in flight on this worker, or a worker with too
// many host calls going, is answered with a failure.
func (p *process) hostCall(id uint64, hc *HostCall) {
	p.mu.Lock()
	c, ok := p.pending[hc.GetCall()]
	var host sdk.Host
	var ctx context.Context
	if ok && !c.load {
		host, ctx = c.host, c.ctx
	}
	p.mu.Unlock()
	switch {
	case host == nil:
		p.answer(id, failure("picloud: this call has no access to the server (not inside Handle, or the call is over)"))
		return
	case !p.hostSlots.TryAcquire():
		p.answer(id, failure("picloud: too many calls to the server at once from this app's worker"))
		return
	}
	go func() {
		defer p.hostSlots.Release()
		p.answer(id, serveHostCall(ctx, host, hc))
	}()
}

func (p *process) answer(id uint64, a *HostAnswer) {
	p.send(&Frame{Id: id, Body: &Frame_HostAnswer{HostAnswer: a}})
}

func failure(msg string) *HostAnswer { return &HostAnswer{Failed: true, Error: msg} }

// serveHostCall runs hc against host within ctx, the call's.
func serveHostCall(ctx context.Context, host sdk.Host, hc *HostCall) *HostAnswer {
	a := &HostAnswer{}
	var err error
	switch hc.GetOp() {
	case HostCall_OP_KV_GET:
		a.Value, a.Found, err = host.KVGet(ctx, hc.GetKey())
	case HostCall_OP_KV_SET:
		err = host.KVSet(ctx, hc.GetKey(), hc.GetValue(), time.Duration(hc.GetTtlNs()))
	case HostCall_OP_KV_DELETE:
		err = host.KVDelete(ctx, hc.GetKey())
	case HostCall_OP_KV_LIST:
		a.Keys, a.Cursor, err = host.KVList(ctx, hc.GetKey(), hc.GetCursor(), int(hc.GetLimit()))
	case HostCall_OP_KV_INCREMENT:
		a.Number, err = host.KVIncrement(ctx, hc.GetKey(), hc.GetDelta())
	case HostCall_OP_SECRET:
		var v string
		v, a.Found, err = host.Secret(ctx, hc.GetKey())
		a.Value = []byte(v)
	case HostCall_OP_FETCH:
		f := hc.GetFetch()
		var r *sdk.FetchResponse
		r, err = host.Fetch(ctx, &sdk.FetchRequest{Method: f.GetMethod(), URL: f.GetUrl(), Headers: f.GetHeaders(),
			Body: f.GetBody(), Timeout: time.Duration(f.GetTimeoutNs())})
		if r != nil {
			a.Response = &Response{Status: int32(r.Status), Headers: r.Headers, Body: r.Body}
		}
	case HostCall_OP_INVOKE:
		var req sdk.Request
		if w := hc.GetRequest(); w != nil {
			w.fill(&req)
		}
		var r *sdk.Response
		r, err = host.Invoke(ctx, hc.GetKey(), &req)
		if r != nil {
			a.Response = &Response{Status: int32(r.Status), Headers: r.Headers, Body: r.Body,
				AddedHeaders: headerLinesToWire(r.Added)}
		}
	default:
		return failure(fmt.Sprintf("picloud: unknown host call %d", hc.GetOp()))
	}
	if err != nil {
		return failure(err.Error())
	}
	return a
}

// slots is a counting semaphore that never blocks.
type slots chan struct{}

func (s slots) TryAcquire() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s slots) Release() { <-s }
