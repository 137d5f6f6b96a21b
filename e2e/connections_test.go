package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startWithFileLimit starts picloud with an open-file limit of files
// (soft and hard, so the server cannot raise it) and the server block
// of config.hcl set to serverBlock.
func startWithFileLimit(t *testing.T, files int, serverBlock string) *server {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "config.hcl")
	if err := os.WriteFile(conf, []byte("server {\n"+serverBlock+"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n "$1" && exec "$0" serve --config "$2"`,
		picloudBin, strconv.Itoa(files), conf)
	return startCommand(t, cmd, "PICLOUD_DATA_DIR="+t.TempDir())
}

// flood opens n connections from the loopback address ip that send
// nothing; they are closed at cleanup (or earlier by the caller).
func (s *server) flood(ip string, n int) []net.Conn {
	s.t.Helper()
	conns := make([]net.Conn, 0, n)
	s.t.Cleanup(func() { closeAll(conns) })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	for range n {
		c, err := d.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			select {
			case <-s.done:
				s.t.Fatalf("picloud exited during the flood:\n%s", s.logs.String())
			case <-time.After(10 * time.Second):
			}
			s.t.Fatalf("flood from %s: connection %d: %v", ip, len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// healthzFrom asks GET /healthz from the loopback address ip on a new
// connection; ok is false when no answer came within 5s.
func (s *server) healthzFrom(ip string) (status int, body string, ok bool) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		return 0, "", false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req, _ := http.NewRequest("GET", s.base+"/healthz", nil)
	req.Close = true
	if req.Write(c) != nil {
		return 0, "", false
	}
	res, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return 0, "", false
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", false
	}
	return res.StatusCode, string(b), true
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// TestConnectionFlood: idle connections held by an attacker never stop
// the server. Past the open-file limit accept fails (EMFILE) and is
// retried; within the limits the excess is refused at once. Either
// way /healthz answers once the flood ends, and the process lives on.
func TestConnectionFlood(t *testing.T) {
	t.Run("past the open-file limit", func(t *testing.T) {
		// Limits above the file limit, so the files run out first.
		s := startWithFileLimit(t, 128, "max_connections = 100000\nmax_connections_per_ip = 100000")
		if !strings.Contains(s.logs.String(), "server.max_connections leaves too few files") {
			t.Errorf("no warning about max_connections above the file limit:\n%s", s.logs.String())
		}
		conns := s.flood("127.0.0.2", 200)
		eventually(t, 30*time.Second, "accept to fail for want of files", func() bool {
			return strings.Contains(s.logs.String(), "too many open files") || s.exited()
		})
		if s.exited() {
			t.Fatalf("picloud exited when it ran out of files:\n%s", s.logs.String())
		}
		closeAll(conns)
		eventually(t, 60*time.Second, "/healthz after the flood", func() bool {
			status, body, ok := s.healthzFrom("127.0.0.1")
			return (ok && status == 200 && body == "ok") || s.exited()
		})
		if s.exited() {
			t.Fatalf("picloud exited:\n%s", s.logs.String())
		}
	})

	t.Run("at the connection limits", func(t *testing.T) {
		// 256 files leave 192 connections ("auto"); one address may
		// hold 50 of them.
		s := startWithFileLimit(t, 256, "max_connections_per_ip = 50")
		if !strings.Contains(s.logs.String(), "max_connections=192 max_connections_per_ip=50 open_file_limit=256") {
			t.Fatalf("limits not derived from the file limit:\n%s", s.logs.String())
		}
		conns := s.flood("127.0.0.2", 60)
		// One listener accepts in arrival order: by the time a later
		// connection is answered, the flood before it was admitted.
		if status, body, ok := s.healthzFrom("127.0.0.2"); !ok || status != 429 || !strings.Contains(body, "client_connection_limit") {
			t.Fatalf("127.0.0.2 past its 50 connections: %d %q (answered: %v)", status, body, ok)
		}
		if status, _, ok := s.healthzFrom("127.0.0.3"); !ok || status != 200 {
			t.Fatalf("127.0.0.3 while 127.0.0.2 is at its limit: %d (answered: %v)", status, ok)
		}
		for _, ip := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"} {
			conns = append(conns, s.flood(ip, 50)...)
		}
		if status, body, ok := s.healthzFrom("127.0.0.1"); !ok || status != 503 || !strings.Contains(body, `"connection_limit"`) {
			t.Fatalf("past 192 connections: %d %q (answered: %v)", status, body, ok)
		}
		if s.exited() {
			t.Fatalf("picloud exited:\n%s", s.logs.String())
		}
		closeAll(conns)
		eventually(t, 30*time.Second, "/healthz after the flood", func() bool {
			status, body, ok := s.healthzFrom("127.0.0.1")
			return (ok && status == 200 && body == "ok") || s.exited()
		})
		if s.exited() {
			t.Fatalf("picloud exited:\n%s", s.logs.String())
		}
		for _, want := range []string{"server.max_connections reached", "server.max_connections_per_ip reached"} {
			if !strings.Contains(s.logs.String(), want) {
				t.Errorf("log lacks %q", want)
			}
		}
	})
}
