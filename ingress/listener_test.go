package ingress_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/ingress"
)

// failingListener fails its first fails Accepts with err (as net does,
// in a *net.OpError), then hands out the connections of the real
// listener beneath it, noting when each Accept was called.
type failingListener struct {
	net.Listener
	err error

	mu    sync.Mutex
	fails int
	calls []time.Time
}

func (f *failingListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	f.calls = append(f.calls, time.Now())
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", f.err)}
	}
	return f.Listener.Accept()
}

func (f *failingListener) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serveHealthz serves l with a handler that answers "ok", and returns
// Serve's result channel.
func serveHealthz(t *testing.T, l *ingress.Listener) <-chan error {
	t.Helper()
	srv := &fasthttp.Server{
		Handler:   func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") },
		ConnState: l.ConnState,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return done
}

// TestAcceptErrorsDoNotEndServe: accept failing with a temporary error
// (out of descriptors, a connection aborted before it was accepted) is
// retried with a growing backoff; fasthttp's Serve never sees it.
func TestAcceptErrorsDoNotEndServe(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS} {
		t.Run(errno.Error(), func(t *testing.T) {
			inner := listenLocal(t)
			failing := &failingListener{Listener: inner, err: errno, fails: 4}
			served := serveHealthz(t, ingress.NewListener(failing, ingress.ConnLimits{Max: 10, PerClient: 10}, quietLogger()))

			status, body := request(t, "127.0.0.1", inner.Addr().String())
			if status != 200 || body != "ok" {
				t.Fatalf("after %d accept errors: %d %q", 4, status, body)
			}
			select {
			case err := <-served:
				t.Fatalf("Serve returned: %v", err)
			default:
			}
			calls := failing.callTimes()
			if len(calls) < 5 {
				t.Fatalf("%d accept calls, want the 4 failures and a success", len(calls))
			}
			// A sleep lasts at least its duration: 5ms, 10ms, 20ms, 40ms.
			for i, want := range []time.Duration{5, 10, 20, 40} {
				if gap := calls[i+1].Sub(calls[i]); gap < want*time.Millisecond {
					t.Errorf("retry %d came after %s, want at least %dms", i+1, gap, want)
				}
			}
		})
	}
}

// TestAcceptPermanentError: an error that will not pass (a closed or
// broken listener) is returned, so Serve ends as it should.
func TestAcceptPermanentError(t *testing.T) {
	for _, err := range []error{syscall.EBADF, syscall.EINVAL, errors.New("listener broke")} {
		inner := listenLocal(t)
		l := ingress.NewListener(&failingListener{Listener: inner, err: err, fails: 1}, ingress.ConnLimits{Max: 1, PerClient: 1}, quietLogger())
		if _, got := l.Accept(); !errors.Is(got, err) {
			t.Errorf("Accept() = %v, want %v", got, err)
		}
	}
	l := ingress.NewListener(listenLocal(t), ingress.ConnLimits{Max: 1, PerClient: 1}, quietLogger())
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept() after Close = %v, want net.ErrClosed", err)
	}
}

// TestCloseEndsBackoff: a listener closed while Accept backs off ends
// Accept, so shutdown does not wait for the backoff.
func TestCloseEndsBackoff(t *testing.T) {
	inner := listenLocal(t)
	l := ingress.NewListener(&failingListener{Listener: inner, err: syscall.EMFILE, fails: 1 << 30},
		ingress.ConnLimits{Max: 1, PerClient: 1}, quietLogger())
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	eventually(t, func() bool { return l.AcceptErrors() >= 3 })
	l.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Accept returned a connection from a closed listener")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still backing off after Close")
	}
}

// TestPerClientLimit: one address may hold PerClient connections; the
// next is answered 429 and closed at once, while another address is
// served, and a closed connection frees its place.
func TestPerClientLimit(t *testing.T) {
	inner := listenLocal(t)
	l := ingress.NewListener(inner, ingress.ConnLimits{Max: 100, PerClient: 3}, quietLogger())
	serveHealthz(t, l)
	addr := inner.Addr().String()

	held := holdIdle(t, "127.0.0.2", addr, 3)
	eventually(t, func() bool { return l.Open() == 3 })
	status, body := request(t, "127.0.0.2", addr)
	if status != 429 || !strings.Contains(body, `"code":"client_connection_limit"`) {
		t.Fatalf("4th connection from 127.0.0.2: %d %q, want 429 client_connection_limit", status, body)
	}
	if status, body := request(t, "127.0.0.3", addr); status != 200 || body != "ok" {
		t.Fatalf("127.0.0.3 while 127.0.0.2 is at its limit: %d %q", status, body)
	}
	held[0].Close()
	eventually(t, func() bool { return l.Open() == 2 })
	if status, _ := request(t, "127.0.0.2", addr); status != 200 {
		t.Fatalf("127.0.0.2 after closing one: %d", status)
	}
	if server, client := l.Refused(); server != 0 || client != 1 {
		t.Fatalf("Refused() = %d, %d; want 0, 1", server, client)
	}
}

// TestServerLimit: past Max open connections, from any addresses, a new
// one is answered 503 and closed at once; Serve carries on.
func TestServerLimit(t *testing.T) {
	inner := listenLocal(t)
	l := ingress.NewListener(inner, ingress.ConnLimits{Max: 4, PerClient: 2}, quietLogger())
	served := serveHealthz(t, l)
	addr := inner.Addr().String()

	held := append(holdIdle(t, "127.0.0.2", addr, 2), holdIdle(t, "127.0.0.3", addr, 2)...)
	eventually(t, func() bool { return l.Open() == 4 })
	for range 3 {
		status, body := request(t, "127.0.0.4", addr)
		if status != 503 || !strings.Contains(body, `"code":"connection_limit"`) {
			t.Fatalf("5th connection: %d %q, want 503 connection_limit", status, body)
		}
	}
	for _, c := range held {
		c.Close()
	}
	eventually(t, func() bool { return l.Open() == 0 })
	if status, body := request(t, "127.0.0.4", addr); status != 200 || body != "ok" {
		t.Fatalf("after the flood: %d %q", status, body)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
}

// dialFrom connects to addr from the loopback address ip (all of
// 127.0.0.0/8 is this machine on Linux).
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	return c
}

// holdIdle opens n connections from ip that send nothing; they are
// closed at cleanup.
func holdIdle(t *testing.T, ip, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialFrom(t, ip, addr)
		t.Cleanup(func() { conns[i].Close() })
	}
	return conns
}

// request sends GET /healthz from ip on a new connection and returns the
// answer's status and body.
func request(t *testing.T, ip, addr string) (int, string) {
	t.Helper()
	c := dialFrom(t, ip, addr)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Close = true
	if err := req.Write(c); err != nil {
		t.Fatalf("write request from %s: %v", ip, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatalf("read response from %s: %v", ip, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body from %s: %v", ip, err)
	}
	return res.StatusCode, string(body)
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAcceptKeepsConnType: Accept hands out the connection itself, so
// fasthttp's fast paths that switch on its type (writev of a large body)
// still apply.
func TestAcceptKeepsConnType(t *testing.T) {
	inner := listenLocal(t)
	l := ingress.NewListener(inner, ingress.ConnLimits{Max: 1, PerClient: 1}, quietLogger())
	client := dialFrom(t, "127.0.0.1", inner.Addr().String())
	defer client.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("Accept returned a %T", c)
	}
}
