// Package scripthost serves the SDK v2 calls of scripts on the server:
// picloud.KV against the app's key-value storage, picloud.Secret against
// its secrets, picloud.Fetch through the guarded outbound client under
// its fetch lists, and picloud.Invoke through its router. Every call is
// scoped to the app of the script that makes it (actors.CallScope): a
// script names keys, secrets and scripts, never an app.
//
// The Host of a call also remembers what the invocation record needs:
// the secret values it handed out, to mask them in the script's output,
// and the fetches it made. Errors reach scripts as plain text: what the
// script can act on (a quota, a refused fetch), and for a failure of the
// server only that it failed, the details going to the server's log.
package scripthost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/fetch"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/secrets"
)

// DefaultMaxInvokeDepth is how deep picloud.Invoke calls may nest.
const DefaultMaxInvokeDepth = 4

// maxFetchRecords bounds the fetches one call records.
const maxFetchRecords = models.MaxRecordedFetches

// Options configure a Provider.
type Options struct {
	DB *models.DB
	// Secrets is nil on a server without secrets: picloud.Secret fails.
	Secrets *secrets.Store
	// Fetch makes the fetches; nil refuses them all.
	Fetch *fetch.Client
	// KVQuota is the default quota of an app's storage.
	KVQuota models.KVQuota
	// Invoke runs a script of the app through its router (the
	// Deployer's Invoke); nil refuses picloud.Invoke.
	Invoke func(ctx context.Context, call deploy.Call) actors.Result
	// MaxInvokeDepth is DefaultMaxInvokeDepth when zero.
	MaxInvokeDepth int
	// Now is the clock of TTLs; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Provider opens the Host of each call: an actors.HostProvider.
type Provider struct {
	opts Options
}

// New returns a Provider.
func New(opts Options) *Provider {
	if opts.MaxInvokeDepth <= 0 {
		opts.MaxInvokeDepth = DefaultMaxInvokeDepth
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Provider{opts: opts}
}

var _ actors.HostProvider = (*Provider)(nil)

// Open implements actors.HostProvider.
func (p *Provider) Open(scope actors.CallScope) actors.CallHost {
	return &host{p: p, scope: scope}
}

// host is the Host of one call. A call runs on one goroutine, but the
// executor reads Mask and Fetches after the call from its own: a mutex
// keeps it simple.
type host struct {
	p     *Provider
	scope actors.CallScope

	mu      sync.Mutex
	secrets []secretRead
	fetches []actors.FetchRecord
	invokes int
}

type secretRead struct{ name, value string }

// scriptError is an error as a script sees it: text only.
func scriptError(op string, err error) error {
	return errors.New(op + ": " + err.Error())
}

// failed logs an error of the server and tells the script only that op
// failed.
func (h *host) failed(op string, err error) error {
	h.p.opts.Logger.Warn("script host call failed", "op", op, "app", h.scope.App,
		"script", h.scope.Script, "request_id", h.scope.RequestID, "err", err)
	return fmt.Errorf("%s: the server could not do it (see request %s in its log)", op, h.scope.RequestID)
}

// kvError sorts a storage error into what the script can act on and what
// only the server can.
func (h *host) kvError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, models.ErrKVInvalid), errors.Is(err, models.ErrKVQuota), errors.Is(err, models.ErrKVNotNumber):
		return scriptError(op, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return scriptError(op, errors.New("the call's time ran out"))
	}
	return h.failed(op, err)
}

func (h *host) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := h.p.opts.DB.KVGet(ctx, h.scope.AppID, key, h.p.opts.Now())
	return v, ok, h.kvError("picloud.KV.Get", err)
}

func (h *host) KVSet(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	now := h.p.opts.Now()
	var expires *time.Time
	if ttl > 0 {
		t := now.Add(ttl)
		expires = &t
	}
	err := h.p.opts.DB.KVSet(ctx, h.scope.AppID, key, value, expires, h.p.opts.KVQuota, now)
	return h.kvError("picloud.KV.Set", err)
}

func (h *host) KVDelete(ctx context.Context, key string) error {
	_, err := h.p.opts.DB.KVDelete(ctx, h.scope.AppID, key, h.p.opts.Now())
	return h.kvError("picloud.KV.Delete", err)
}

func (h *host) KVList(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	entries, next, err := h.p.opts.DB.KVList(ctx, h.scope.AppID, prefix, cursor, limit, h.p.opts.Now())
	if err != nil {
		return nil, "", h.kvError("picloud.KV.List", err)
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys, next, nil
}

func (h *host) KVIncrement(ctx context.Context, key string, delta int64) (int64, error) {
	n, err := h.p.opts.DB.KVIncrement(ctx, h.scope.AppID, key, delta, h.p.opts.KVQuota, h.p.opts.Now())
	return n, h.kvError("picloud.KV.Increment", err)
}

func (h *host) Secret(ctx context.Context, name string) (string, bool, error) {
	if h.p.opts.Secrets == nil {
		return "", false, errors.New("secrets are not available on this server")
	}
	v, ok, err := h.p.opts.Secrets.Value(ctx, h.scope.AppID, name)
	if err != nil {
		return "", false, h.failed("picloud.Secret", err)
	}
	if ok && v != "" {
		h.mu.Lock()
		h.secrets = append(h.secrets, secretRead{name: name, value: v})
		h.mu.Unlock()
	}
	return v, ok, nil
}

// Mask replaces every secret value the call read by [secret NAME],
// longest first (a value may contain another).
func (h *host) Mask(s string) string {
	h.mu.Lock()
	reads := slices.Clone(h.secrets)
	h.mu.Unlock()
	slices.SortFunc(reads, func(a, b secretRead) int { return len(b.value) - len(a.value) })
	for _, r := range reads {
		s = strings.ReplaceAll(s, r.value, "[secret "+r.name+"]")
	}
	return s
}

// Fetches implements actors.CallHost, secrets masked.
func (h *host) Fetches() []actors.FetchRecord {
	h.mu.Lock()
	out := slices.Clone(h.fetches)
	h.mu.Unlock()
	for i := range out {
		out[i].URL, out[i].Error = h.Mask(out[i].URL), h.Mask(out[i].Error)
	}
	return out
}

func (h *host) Fetch(ctx context.Context, req *sdk.FetchRequest) (*sdk.FetchResponse, error) {
	if h.p.opts.Fetch == nil {
		return nil, errors.New("picloud.Fetch: outbound HTTP is not available on this server")
	}
	app, err := h.p.opts.DB.App(ctx, strconv.FormatInt(h.scope.AppID, 10))
	if err != nil {
		return nil, h.failed("picloud.Fetch", err)
	}
	policy := fetch.Policy{Allow: app.Settings.FetchAllow.Patterns(), Deny: app.Settings.FetchDeny.Patterns()}
	resp, rec, err := h.p.opts.Fetch.Do(ctx, h.scope.AppID, policy, req)
	h.mu.Lock()
	if len(h.fetches) < maxFetchRecords {
		h.fetches = append(h.fetches, actors.FetchRecord(rec))
	}
	h.mu.Unlock()
	if err != nil {
		return nil, errors.New(err.Error())
	}
	return resp, nil
}

func (h *host) Invoke(ctx context.Context, script string, req *sdk.Request) (*sdk.Response, error) {
	op := fmt.Sprintf("picloud.Invoke(%q)", script)
	if h.p.opts.Invoke == nil {
		return nil, errors.New(op + ": not available on this server")
	}
	if h.scope.Depth+1 > h.p.opts.MaxInvokeDepth {
		return nil, fmt.Errorf("%s: call depth limit of %d reached (scripts invoking each other in a loop?)", op, h.p.opts.MaxInvokeDepth)
	}
	h.mu.Lock()
	h.invokes++
	n := h.invokes
	h.mu.Unlock()
	res := h.p.opts.Invoke(ctx, deploy.Call{AppID: h.scope.AppID, Script: script,
		Request: h.invokeRequest(req, n)})
	if res.ErrCode != "" {
		return nil, fmt.Errorf("%s: %s: %s", op, res.ErrCode, res.ErrMessage)
	}
	out := &sdk.Response{Status: res.Status, Body: res.Body}
	if len(res.Headers) > 0 {
		out.Headers = make(map[string]string, len(res.Headers))
		for _, hd := range res.Headers {
			// A name's first value goes in Headers, its repeats (cookies,
			// AddHeader) in Added, as the called script sent them.
			if _, seen := out.Headers[hd.Name]; seen {
				out.Added = append(out.Added, sdk.Header{Name: hd.Name, Value: hd.Value})
				continue
			}
			out.Headers[hd.Name] = hd.Value
		}
	}
	return out, nil
}

// invokeRequest is the router's request for the n-th Invoke of the call:
// its id extends the caller's, so the log shows who called.
func (h *host) invokeRequest(req *sdk.Request, n int) *actors.Request {
	r := &actors.Request{
		Method: strings.ToUpper(req.Method), Path: req.Path, Host: req.Host, Body: req.Body,
		RequestID:    h.scope.RequestID + "." + strconv.Itoa(n),
		DomainParams: req.DomainParams,
		Trigger:      sdk.TriggerInvoke,
		Depth:        h.scope.Depth + 1,
	}
	if r.Method == "" {
		r.Method = "GET"
	}
	if !strings.HasPrefix(r.Path, "/") {
		r.Path = "/" + r.Path
	}
	if req.Query != nil {
		r.RawQuery = req.Query.Encode()
	}
	for name, value := range req.Headers {
		r.Headers = append(r.Headers, actors.Header{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value})
	}
	return r
}
