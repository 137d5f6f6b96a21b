package ingress_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
)

// startLimited serves router through a Server whose connections and
// response memory are limited by LimitConnections.
func startLimited(t *testing.T, router scriptedRouter, rec ingress.Recorder, limits ingress.ConnLimits) string {
	t.Helper()
	s := ingress.New(ingress.Options{Timeout: 5 * time.Second}, router, rec, quietLogger())
	s.SetTable(ingress.NewTable([]ingress.App{{ID: 1, Slug: "hello", Router: actor.NewPID("nonhost", "app-1")}}, nil, "hello"))
	ln := listenSmallBuffers(t)
	srv := &fasthttp.Server{Handler: s.Handler}
	l := s.LimitConnections(srv, ln, limits)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// listenSmallBuffers listens on 127.0.0.1 with small socket buffers
// (inherited by accepted connections), so a body stays with the server
// until its client reads it, as it does on a real network, where the
// kernel does not buffer megabytes for one client as it may on loopback.
func listenSmallBuffers(t *testing.T) net.Listener {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return setBuffer(rc, syscall.SO_SNDBUF)
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// setBuffer sets a socket buffer (SO_SNDBUF or SO_RCVBUF) to 4 KiB.
func setBuffer(rc syscall.RawConn, which int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, which, 4096)
	})
	return errors.Join(err, serr)
}

// slowReader asks for path and reads the status line, then nothing more:
// the server is left holding what its socket buffers do not take. Its
// receive buffer is small, so that is nearly the whole body.
func slowReader(t *testing.T, addr, path string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return setBuffer(rc, syscall.SO_RCVBUF)
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: hello\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil {
		t.Fatalf("status line of %s: %v", path, err)
	}
	return c, strings.TrimSpace(line)
}

// bodies answers /big/{i} with bodies[i] and /small with a short body.
func bodies(list [][]byte) scriptedRouter {
	return scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		if inv.Request.Path == "/small" {
			return actors.Result{Status: 200, Body: []byte("small")}, true
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(inv.Request.Path, "/big/"))
		return actors.Result{Status: 200, Body: list[i]}, true
	}}
}

// TestLargeResponseNotCopied: ingress sends a script's body as it is.
// While slow readers hold large responses, the server allocates far less
// than one more copy of each body (it used to copy every body into
// fasthttp's buffer: as much again as the body, held as long as the
// reader took).
func TestLargeResponseNotCopied(t *testing.T) {
	const readers, size = 16, 2 << 20
	list := make([][]byte, readers)
	for i := range list {
		list[i] = bytes.Repeat([]byte{'x'}, size)
	}
	addr := startLimited(t, bodies(list), nil, ingress.ConnLimits{Max: 100, PerClient: 100, ResponseMemory: 1 << 30})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range readers {
		if _, status := slowReader(t, addr, "/big/"+strconv.Itoa(i)); status != "HTTP/1.1 200 OK" {
			t.Fatalf("reader %d: %q", i, status)
		}
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(readers * size / 4); allocated > limit {
		t.Fatalf("serving %d slow readers of %d-byte bodies allocated %d bytes (%d per reader); want under %d",
			readers, size, allocated, allocated/readers, limit)
	}
	t.Logf("%d slow readers of %d bytes: %d bytes allocated, %d per reader", readers, size, allocated, allocated/readers)
}

// TestResponseMemoryBound: large bodies being read hold at most
// ResponseMemory; a script response past it is answered 503 server_busy
// (and logged so), small responses still go out, and the memory is free
// again once the readers are gone.
func TestResponseMemoryBound(t *testing.T) {
	const size = 1 << 20
	list := make([][]byte, 8)
	for i := range list {
		list[i] = bytes.Repeat([]byte{'y'}, size)
	}
	rec := &memRecorder{}
	addr := startLimited(t, bodies(list), rec, ingress.ConnLimits{Max: 100, PerClient: 100, ResponseMemory: 3 * size})

	var held []net.Conn
	for i := range 3 {
		c, status := slowReader(t, addr, "/big/"+strconv.Itoa(i))
		if status != "HTTP/1.1 200 OK" {
			t.Fatalf("reader %d within the budget: %q", i, status)
		}
		held = append(held, c)
	}
	res := fetch(t, addr, "/big/3")
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "1" || !strings.Contains(res.body, `"code":"server_busy"`) {
		t.Fatalf("past the budget: %d %q (Retry-After %q)", res.StatusCode, res.body[:min(len(res.body), 200)], res.Header.Get("Retry-After"))
	}
	if inv := findInvocation(t, rec, res.Header.Get("X-Request-Id")); inv.Status != 503 || !strings.Contains(inv.Error, "server_busy") {
		t.Fatalf("refusal recorded as %d %q", inv.Status, inv.Error)
	}
	if res := fetch(t, addr, "/small"); res.StatusCode != 200 || res.body != "small" {
		t.Fatalf("small response while the budget is held: %d %q", res.StatusCode, res.body[:min(len(res.body), 200)])
	}
	for _, c := range held {
		c.Close()
	}
	eventually(t, func() bool {
		res := fetch(t, addr, "/big/4")
		return res.StatusCode == 200 && len(res.body) == size
	})
	// A reader that reads it all gives the memory back as well.
	for i := range 4 {
		if res := fetch(t, addr, "/big/"+strconv.Itoa(4+i%4)); res.StatusCode != 200 {
			t.Fatalf("fetch %d after the readers left: %d", i, res.StatusCode)
		}
	}
}

type fetched struct {
	*http.Response
	body string
}

// fetch reads a whole response from a new connection.
func fetch(t *testing.T, addr, path string) fetched {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Host = "hello"
	res, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fetched{res, string(b)}
}
