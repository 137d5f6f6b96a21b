// Package fetch owns scripts' outbound HTTP (picloud.Fetch): an HTTP
// client that refuses what a server-side request forgery wants.
//
// A fetch may use http and https only, and may reach only addresses that
// are not loopback, private, link-local, cloud metadata, multicast,
// unspecified or reserved (loopback and private ranges can be allowed on
// purpose, never the others). The check runs on the address that is
// actually dialed, after DNS resolution, for the first request and for
// every redirect, so a name that resolves (or re-resolves: DNS
// rebinding) to a forbidden address cannot reach it; the socket's
// Control hook checks the address once more. Legacy spellings of IPv4
// ("127.1", "0x7f000001") are read as resolvers read them. No proxy from
// the environment is used. Each app may narrow what its scripts reach
// with allow and deny lists of host patterns.
//
// A fetch is bounded: a per-call timeout within the caller's context (the
// script's time budget), a response body limit and a number of fetches
// in flight per app. Each fetch leaves a Record (URL without query,
// status, duration) for the invocation log.
package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
)

// ErrRefused is wrapped by the error of a fetch the guard refused.
var ErrRefused = errors.New("fetch refused")

// Defaults of Options.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultMaxResponseBody = 10 << 20
	DefaultMaxConcurrency  = 16
	// maxRedirects bounds the redirects one fetch follows.
	maxRedirects = 10
	// maxRecordedURL bounds the URL kept in a Record.
	maxRecordedURL = 512
)

// Resolver looks up the addresses of a host name; net.DefaultResolver is
// one. Tests give a stub, so that no name is ever looked up for real.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc connects to addr ("ip:port", already checked).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Options configure a Client.
type Options struct {
	// AllowPrivate lets fetches reach loopback and private addresses.
	AllowPrivate bool
	// Timeout is the default and the longest time of one fetch.
	Timeout time.Duration
	// MaxResponseBody caps a response body (and a request body), in bytes.
	MaxResponseBody int64
	// MaxConcurrency caps the fetches in flight per app; more wait.
	MaxConcurrency int
	// Resolver is net.DefaultResolver when nil.
	Resolver Resolver
	// Dial connects to a checked address; nil means a net.Dialer whose
	// Control hook checks the address again. Tests give one that records
	// and refuses every dial, so a faulty guard fails them instead of
	// reaching the network.
	Dial DialFunc
}

// Policy is an app's narrowing of what its scripts may fetch: host
// patterns ("api.example.com", "*.example.com" for its subdomains, "*"
// for every host). With Allow set, only hosts it matches may be fetched;
// hosts Deny matches may not.
type Policy struct {
	Allow []string
	Deny  []string
}

// Record is what the invocation log keeps of one fetch.
type Record struct {
	Method string `json:"method"`
	// URL is the fetched URL without credentials, query or fragment.
	URL        string `json:"url"`
	Status     int    `json:"status,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Client makes scripts' fetches. It is safe for concurrent use.
type Client struct {
	opts   Options
	addrs  *addrPolicy
	client *http.Client

	mu    sync.Mutex
	slots map[int64]chan struct{}
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxResponseBody <= 0 {
		opts.MaxResponseBody = DefaultMaxResponseBody
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	c := &Client{opts: opts, addrs: newAddrPolicy(opts.AllowPrivate), slots: map[int64]chan struct{}{}}
	if c.opts.Dial == nil {
		d := &net.Dialer{Timeout: opts.Timeout, Control: c.control}
		c.opts.Dial = d.DialContext
	}
	transport := &http.Transport{
		Proxy:                 nil, // never a proxy from the environment: it would dial for us
		DialContext:           c.dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
	}
	c.client = &http.Client{Transport: transport, CheckRedirect: c.checkRedirect}
	return c
}

// Close drops the idle connections.
func (c *Client) Close() { c.client.CloseIdleConnections() }

// policyKey carries an app's Policy to checkRedirect.
type policyKey struct{}

// Do makes the fetch req for app appID under the app's policy, within
// ctx, and returns the response and the Record of the fetch (also when
// it failed).
func (c *Client) Do(ctx context.Context, appID int64, policy Policy, req *sdk.FetchRequest) (*sdk.FetchResponse, Record, error) {
	start := time.Now()
	rec := Record{}
	resp, err := c.do(ctx, appID, policy, req, &rec)
	rec.DurationMS = time.Since(start).Milliseconds()
	if err != nil {
		rec.Error = err.Error()
	}
	return resp, rec, err
}

func (c *Client) do(ctx context.Context, appID int64, policy Policy, in *sdk.FetchRequest, rec *Record) (*sdk.FetchResponse, error) {
	if in == nil {
		return nil, errors.New("picloud.Fetch: request is nil")
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	rec.Method = method
	u, err := url.Parse(in.URL)
	if err != nil {
		// The error would repeat the URL, query and credentials included.
		rec.URL = "(invalid URL)"
		return nil, errors.New("picloud.Fetch: the URL does not parse; want an absolute http:// or https:// URL")
	}
	rec.URL = recordedURL(u)
	if err := c.checkURL(u, policy); err != nil {
		return nil, err
	}
	if int64(len(in.Body)) > c.opts.MaxResponseBody {
		return nil, fmt.Errorf("picloud.Fetch: request body of %d bytes is over the limit of %d", len(in.Body), c.opts.MaxResponseBody)
	}
	timeout := c.opts.Timeout
	if in.Timeout > 0 && in.Timeout < timeout {
		timeout = in.Timeout
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, policyKey{}, policy), timeout)
	defer cancel()
	release, err := c.acquire(ctx, appID)
	if err != nil {
		return nil, err
	}
	defer release()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(in.Body))
	if err != nil {
		return nil, fmt.Errorf("picloud.Fetch: %w", err)
	}
	for name, value := range in.Headers {
		if strings.EqualFold(name, "Host") {
			return nil, errors.New("picloud.Fetch: the Host header is set from the URL")
		}
		req.Header.Set(name, value)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fetchError(ctx, err, timeout)
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBody+1))
	if err != nil {
		return nil, fetchError(ctx, err, timeout)
	}
	if int64(len(body)) > c.opts.MaxResponseBody {
		return nil, fmt.Errorf("picloud.Fetch: response body is over the limit of %d bytes", c.opts.MaxResponseBody)
	}
	out := &sdk.FetchResponse{Status: resp.StatusCode, Headers: make(map[string]string, len(resp.Header)), Body: body}
	for name, values := range resp.Header {
		out.Headers[textproto.CanonicalMIMEHeaderKey(name)] = strings.Join(values, ", ")
	}
	return out, nil
}

// fetchError says why a request failed: the guard's refusal as it is, a
// timeout as one.
func fetchError(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(err, ErrRefused) {
		var refusal *refusedError
		if errors.As(err, &refusal) {
			return refusal
		}
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("picloud.Fetch: no answer within %s", timeout)
	}
	return fmt.Errorf("picloud.Fetch: %w", err)
}

// refusedError is a refusal by the guard.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return "picloud.Fetch: refused: " + e.msg }
func (e *refusedError) Unwrap() error { return ErrRefused }

func refuse(format string, args ...any) error {
	return &refusedError{msg: fmt.Sprintf(format, args...)}
}

// acquire takes one of the app's fetch slots, waiting within ctx.
func (c *Client) acquire(ctx context.Context, appID int64) (func(), error) {
	c.mu.Lock()
	slots, ok := c.slots[appID]
	if !ok {
		slots = make(chan struct{}, c.opts.MaxConcurrency)
		c.slots[appID] = slots
	}
	c.mu.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("picloud.Fetch: %d fetches of this app are in flight already (server.fetch_max_concurrency): %w",
			c.opts.MaxConcurrency, ctx.Err())
	}
}

// checkURL refuses what may not be fetched by its URL alone: schemes
// other than http and https, credentials, hosts that are forbidden
// addresses or names (localhost), and hosts the app's policy refuses.
func (c *Client) checkURL(u *url.URL, policy Policy) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return refuse("scheme %q (only http and https)", u.Scheme)
	}
	if u.User != nil {
		return refuse("credentials in the URL (send them in a header)")
	}
	host := canonicalHost(u.Hostname())
	if host == "" {
		return refuse("URL %q has no host", recordedURL(u))
	}
	ip, literal, err := literalAddr(host)
	if err != nil {
		return refuse("%v", err)
	}
	switch {
	case literal:
		if why := c.addrs.check(ip); why != "" {
			return refuse("%s is %s", host, why)
		}
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		if !c.opts.AllowPrivate {
			return refuse("%s is %s", host, classLoopback)
		}
	}
	return checkPolicy(host, policy)
}

// checkPolicy applies an app's allow and deny lists to host.
func checkPolicy(host string, p Policy) error {
	for _, pat := range p.Deny {
		if MatchHost(pat, host) {
			return refuse("host %s is on this app's deny list (%s)", host, pat)
		}
	}
	if len(p.Allow) == 0 {
		return nil
	}
	for _, pat := range p.Allow {
		if MatchHost(pat, host) {
			return nil
		}
	}
	return refuse("host %s is not on this app's allow list", host)
}

// MatchHost reports whether host matches pattern: "*" matches every
// host, "*.example.com" every subdomain of example.com (not example.com
// itself), anything else itself, case and a trailing dot aside.
func MatchHost(pattern, host string) bool {
	pattern, host = canonicalHost(pattern), canonicalHost(host)
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:])
	}
	return pattern == host
}

func canonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// checkRedirect checks every redirect's URL as the first one was.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("picloud.Fetch: stopped after %d redirects", maxRedirects)
	}
	policy, _ := req.Context().Value(policyKey{}).(Policy)
	if err := c.checkURL(req.URL, policy); err != nil {
		return fmt.Errorf("redirect to %s: %w", recordedURL(req.URL), err)
	}
	return nil
}

// dial resolves addr's host, refuses the connection if any of its
// addresses is forbidden, and dials the checked addresses in turn.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	host = canonicalHost(host)
	ips, err := c.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if why := c.addrs.check(ip); why != "" {
			if ip.String() == host {
				return nil, refuse("%s is %s", host, why)
			}
			return nil, refuse("%s resolves to %s, %s", host, ip, why)
		}
	}
	var errs []error
	for _, ip := range ips {
		conn, err := c.opts.Dial(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (c *Client) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	ip, literal, err := literalAddr(host)
	switch {
	case err != nil:
		return nil, refuse("%v", err)
	case literal:
		return []netip.Addr{ip}, nil
	}
	ips, err := c.opts.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips, nil
}

// control is the socket's last check of the address it connects to.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse("dial to %q: not an address", address)
	}
	if why := c.addrs.check(ap.Addr()); why != "" {
		return refuse("dial to %s: %s", ap.Addr(), why)
	}
	return nil
}

// recordedURL is u as a log may keep it: scheme, host and path; no
// credentials, query or fragment (they carry tokens).
func recordedURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := v.String()
	if len(s) > maxRecordedURL {
		s = s[:maxRecordedURL] + "..."
	}
	return s
}
