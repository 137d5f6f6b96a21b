package ingress

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/internal/clientip"
)

// ConnLimits bound the connections a Listener hands to the server.
type ConnLimits struct {
	// Max is how many connections may be open at once (at least 1); a
	// connection past it is answered 503 connection_limit and closed.
	Max int
	// PerClient is how many of them one client may hold (at least 1); a
	// connection past it is answered 429 client_connection_limit and
	// closed. A client is an IPv4 address or an IPv6 /64 (what one host
	// is usually given).
	PerClient int
	// ResponseMemory bounds the bytes of large response bodies (over 64
	// KiB) held while their clients read them; a script response that
	// would go past it is answered 503 server_busy. 0 means
	// DefaultResponseMemory.
	ResponseMemory int64
	// TrustedProxies only changes what a refusal's log says: a connection
	// is refused before any request on it is read, so the caps count TCP
	// peers, and a refused trusted proxy is named as one.
	TrustedProxies clientip.Trusted
}

// MaxConnectionsFor is the connection limit when server.max_connections
// is "auto": what an open-file limit of openFiles leaves once a quarter
// of it (at least 64 files) is kept for the database, the workers' pipes,
// logs and refused connections being closed, and at most
// maxAutoConnections. An unknown limit (0) gives the limit of the
// common default of 1024 files.
func MaxConnectionsFor(openFiles uint64) int {
	if openFiles == 0 {
		openFiles = 1024
	}
	reserve := max(openFiles/4, 64)
	if openFiles <= 2*reserve {
		// Too few files to keep 64: share them.
		return int(max(openFiles/2, 1))
	}
	return int(min(openFiles-reserve, maxAutoConnections))
}

// maxAutoConnections caps the derived limit: past it, the memory of idle
// connections (tens of KiB each) matters more than files.
const maxAutoConnections = 16384

// Backoff of Accept after a temporary error, as net/http's Serve does it.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// logEvery is how often a repeated accept error or refusal is logged.
const logEvery = 10 * time.Second

// refuseWriteTimeout bounds writing the answer to a refused connection,
// which the accept loop does itself (a fresh socket's buffer takes it at
// once; the bound is for safety).
const refuseWriteTimeout = 100 * time.Millisecond

// Listener wraps the server's listener so that no accept error ends the
// server and no client holds more connections than the limits allow.
//
// fasthttp's Serve returns on any accept error but a timeout: at the
// open-file limit (EMFILE) the whole server would stop. Accept retries
// temporary errors with a backoff instead, and returns only when the
// listener is closed or broken for good.
type Listener struct {
	net.Listener
	limits ConnLimits
	logger *slog.Logger
	done   chan struct{}
	close  sync.Once
	// lingering holds a token per refused connection being read off.
	lingering chan struct{}

	mu      sync.Mutex
	open    int
	clients map[netip.Prefix]int

	refusedServer atomic.Uint64
	refusedClient atomic.Uint64
	acceptErrors  atomic.Uint64

	errLog, fullLog, clientLog logLimiter
}

// LimitConnections wraps ln in a Listener with limits, for srv to serve:
// it reports srv's closed connections to the Listener, leaves the
// connection limits to it (fasthttp's own per-IP limit ignores IPv6),
// bounds the memory of responses being read (limits.ResponseMemory) and
// exports the counts on /metrics. Call it once per Server, before
// serving.
func (s *Server) LimitConnections(srv *fasthttp.Server, ln net.Listener, limits ConnLimits) *Listener {
	l := NewListener(ln, limits, s.logger)
	s.bodies.setMax(limits.ResponseMemory)
	// fasthttp frees its worker a moment after the connection is
	// closed: twice the limit keeps its own cap from ever being the one
	// that refuses.
	srv.Concurrency = 2 * l.limits.Max
	srv.MaxConnsPerIP = 0
	if prev := srv.ConnState; prev != nil {
		srv.ConnState = func(c net.Conn, state fasthttp.ConnState) {
			l.ConnState(c, state)
			prev(c, state)
		}
	} else {
		srv.ConnState = l.ConnState
	}
	s.metrics.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "picloud_connections_open",
			Help: "HTTP connections open (server.max_connections bounds them).",
		}, func() float64 { return float64(l.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_connections_refused_total", Help: refusedHelp,
			ConstLabels: prometheus.Labels{"limit": "max_connections"},
		}, func() float64 { n, _ := l.Refused(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_connections_refused_total", Help: refusedHelp,
			ConstLabels: prometheus.Labels{"limit": "max_connections_per_ip"},
		}, func() float64 { _, n := l.Refused(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "picloud_response_memory_bytes",
			Help: "Bytes of large response bodies held while clients read them (server.max_response_memory bounds them).",
		}, func() float64 { return float64(s.bodies.held()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_responses_refused_total",
			Help: "Script responses answered 503 server_busy because server.max_response_memory was held.",
		}, func() float64 { return float64(s.bodies.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_accept_errors_total",
			Help: "Accept errors (such as running out of file descriptors) retried.",
		}, func() float64 { return float64(l.AcceptErrors()) }),
	)
	return l
}

const refusedHelp = "Connections refused at a connection limit (server.max_connections or server.max_connections_per_ip)."

// NewListener wraps ln with limits (values below 1 count as 1). The
// server must report the connections it is done with through ConnState.
func NewListener(ln net.Listener, limits ConnLimits, logger *slog.Logger) *Listener {
	limits.Max = max(limits.Max, 1)
	limits.PerClient = max(limits.PerClient, 1)
	return &Listener{
		Listener:  ln,
		limits:    limits,
		logger:    logger,
		done:      make(chan struct{}),
		clients:   map[netip.Prefix]int{},
		lingering: make(chan struct{}, maxLingering),
	}
}

// Limits returns the limits in force.
func (l *Listener) Limits() ConnLimits { return l.limits }

// Accept returns the next connection within the limits. Connections past
// a limit are answered and closed here; temporary errors (out of file
// descriptors, a connection aborted before it was accepted, ...) are
// logged and retried after a backoff of 5ms doubling to 1s.
func (l *Listener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if l.closed() || !temporary(err) {
				return nil, err
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			l.acceptErrors.Add(1)
			if n, ok := l.errLog.ready(); ok {
				l.logger.Error("accept failed; retrying", "err", err, "retry_in", backoff, "errors_since_last_log", n)
			}
			if !l.sleep(backoff) {
				return nil, err
			}
			continue
		}
		backoff = 0
		if conn := l.admit(c); conn != nil {
			return conn, nil
		}
	}
}

// Close closes the listener and ends a backoff in progress.
func (l *Listener) Close() error {
	l.close.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *Listener) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// sleep waits d, or less if the listener is closed meanwhile; it reports
// whether the listener is still open.
func (l *Listener) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.done:
		return false
	}
}

// Open is how many connections are open.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused counts the connections refused because the server was full and
// because their client was.
func (l *Listener) Refused() (server, client uint64) {
	return l.refusedServer.Load(), l.refusedClient.Load()
}

// AcceptErrors counts the accept errors retried.
func (l *Listener) AcceptErrors() uint64 { return l.acceptErrors.Load() }

// admit counts c in, or answers and closes it when a limit is reached;
// ConnState counts it out.
func (l *Listener) admit(c net.Conn) net.Conn {
	key, keyed := clientKey(c.RemoteAddr())
	l.mu.Lock()
	serverFull := l.open >= l.limits.Max
	clientFull := keyed && l.clients[key] >= l.limits.PerClient
	if !serverFull && !clientFull {
		l.open++
		if keyed {
			l.clients[key]++
		}
	}
	l.mu.Unlock()
	switch {
	case serverFull:
		l.refusedServer.Add(1)
		if n, ok := l.fullLog.ready(); ok {
			l.logger.Warn("connection refused: server.max_connections reached",
				"max_connections", l.limits.Max, "client", c.RemoteAddr().String(), "refused_since_last_log", n)
		}
		l.refuse(c, 503, "connection_limit", "the server has too many open connections; try again later")
		return nil
	case clientFull:
		l.refusedClient.Add(1)
		if n, ok := l.clientLog.ready(); ok {
			l.logClientFull(c, key, n)
		}
		l.refuse(c, 429, "client_connection_limit", "your address has too many open connections to this server")
		return nil
	}
	return c
}

// logClientFull logs a refusal at max_connections_per_ip. When the peer
// is a trusted proxy, every client behind it shares its count: the log
// says so, since no request (and no X-Forwarded-For) has been read yet.
func (l *Listener) logClientFull(c net.Conn, key netip.Prefix, n int) {
	var peer net.IP
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = a.IP
	}
	if l.limits.TrustedProxies.Contains(peer) {
		l.logger.Warn("connection refused: server.max_connections_per_ip reached by a trusted proxy, "+
			"which all clients behind it share: raise max_connections_per_ip, and limit clients at the proxy",
			"max_connections_per_ip", l.limits.PerClient, "client", key.String(), "trusted_proxy", true, "refused_since_last_log", n)
		return
	}
	l.logger.Warn("connection refused: server.max_connections_per_ip reached",
		"max_connections_per_ip", l.limits.PerClient, "client", key.String(), "refused_since_last_log", n)
}

// release counts a closed connection out.
func (l *Listener) release(key netip.Prefix, keyed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if !keyed {
		return
	}
	if n := l.clients[key] - 1; n > 0 {
		l.clients[key] = n
	} else {
		delete(l.clients, key)
	}
}

// ConnState is the fasthttp.Server.ConnState hook that counts a
// connection out once the server is done with it (closed, or hijacked
// and no longer the server's). A server serving the Listener must call
// it; LimitConnections sets it. Accept hands out the connection itself,
// not a wrapper, so fasthttp keeps its fast paths (writev of a large
// body, TLS detection) that look at the connection's type.
func (l *Listener) ConnState(c net.Conn, state fasthttp.ConnState) {
	if state == fasthttp.StateClosed || state == fasthttp.StateHijacked {
		l.release(clientKey(c.RemoteAddr()))
	}
}

// clientKey is the client a remote address belongs to: its IPv4 address,
// or its IPv6 /64. ok is false for an address without an IP (a unix
// socket, a pipe), which no per-client limit applies to.
func clientKey(addr net.Addr) (key netip.Prefix, ok bool) {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, ok = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(addr.String())
		ip, ok = ap.Addr(), err == nil
	}
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	key, err := ip.Prefix(bits)
	return key, err == nil
}

// refuse answers c with an HTTP error in the JSON shape of every other
// PiCloud error and closes it. It does not wait for the request: the
// answer is the same whatever was asked. Closing a socket with the
// request unread would reset the connection, and the client would likely
// lose the answer; so, while few refusals are in progress, the rest of
// the request is read off briefly before the close.
func (l *Listener) refuse(c net.Conn, status int, code, message string) {
	body, _ := json.Marshal(map[string]apierror.Error{"error": {Code: code, Message: message}})
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	_, err := fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s",
		status, fasthttp.StatusMessage(status), len(body), body)
	cw, ok := c.(interface{ CloseWrite() error })
	if err != nil || !ok {
		_ = c.Close()
		return
	}
	select {
	case l.lingering <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.lingering }()
		_ = cw.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(refuseLinger))
		_, _ = io.CopyN(io.Discard, c, refuseDrain)
		_ = c.Close()
	}()
}

// A refused connection's request is read off for at most refuseLinger
// and refuseDrain bytes, by at most maxLingering goroutines at once.
const (
	refuseLinger = 500 * time.Millisecond
	refuseDrain  = 64 << 10
	maxLingering = 64
)

// temporary reports whether an accept error may pass: the process is out
// of descriptors or memory for the moment, or the connection failed
// before it was accepted (accept(2) passes on such network errors, and
// says to retry them). Anything else, a closed listener above all, is
// for good.
func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
		syscall.EPROTO, syscall.EPERM, syscall.ETIMEDOUT,
		syscall.ENETDOWN, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.EHOSTUNREACH,
		syscall.ENOPROTOOPT, syscall.EOPNOTSUPP:
		return true
	}
	return errno.Temporary()
}

// logLimiter lets one message through per logEvery and counts the ones
// it held back.
type logLimiter struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// ready reports whether to log now, and how many were held back since the
// last time.
func (r *logLimiter) ready() (skipped int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < logEvery {
		r.skipped++
		return 0, false
	}
	skipped, r.last, r.skipped = r.skipped, now, 0
	return skipped, true
}
