// Package e2e tests PiCloud as a user meets it: the real binary, started
// on a temp data dir (SQLite) or a fresh PostgreSQL schema, driven over
// HTTP on 127.0.0.1 with a port the OS picks.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// picloudBin is the binary TestMain builds once for the package; it is
// read-only afterwards.
var picloudBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "picloud-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "picloud")
	// The e2e tag compiles in a clock the tests can move
	// (cmd/picloud/clock_e2e.go); release builds have none.
	args := []string{"build", "-tags", "e2e", "-o", bin}
	if raceEnabled {
		// A race-enabled test run checks the server too; a plain run skips
		// the race build, most of the suite's cold start.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/picloud")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build picloud:", err)
		os.Exit(1)
	}
	picloudBin = bin
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running picloud process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan struct{}
	// token, when set, is sent as the bearer token of every request that
	// brings no Authorization header of its own.
	token string
}

// syncBuffer collects a process's log output safely across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listenLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer starts picloud with env (KEY=VALUE) added to a clean
// environment and waits until it listens. It is stopped at cleanup.
func startServer(t *testing.T, env ...string) *server {
	t.Helper()
	return startServerArgs(t, nil, env...)
}

// startServerArgs is startServer with arguments after "serve".
func startServerArgs(t *testing.T, args []string, env ...string) *server {
	t.Helper()
	return startCommand(t, exec.Command(picloudBin, append([]string{"serve"}, args...)...), env...)
}

// startCommand is startServer with a command of the caller's (other
// arguments, or picloud started through a shell).
func startCommand(t *testing.T, cmd *exec.Cmd, env ...string) *server {
	t.Helper()
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"PICLOUD_LISTEN=127.0.0.1:0",
	}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start picloud: %v", err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logs.Write([]byte(line + "\n"))
			if m := listenLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-s.done:
		t.Fatalf("picloud exited before listening:\n%s", s.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("picloud did not listen within 60s:\n%s", s.logs.String())
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("picloud did not stop within 20s of SIGTERM:\n%s", s.logs.String())
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 && !s.t.Failed() {
		s.t.Errorf("picloud exited with %d:\n%s", code, s.logs.String())
	}
}

// response is what a request got back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return v
}

// do sends a request; body, if not nil, is JSON-encoded unless it is a
// string or []byte.
func (s *server) do(method, path string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if adminPath(path) {
		req.Host = strings.TrimPrefix(s.adminOrigin(), "http://")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// expect fails the test unless r has the status and every fragment.
func expect(t *testing.T, what string, r response, status int, fragments ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.Status, status, r.Body)
	}
	for _, f := range fragments {
		if !bytes.Contains(r.Body, []byte(f)) {
			t.Fatalf("%s: body lacks %q: %s", what, f, r.Body)
		}
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const adminAPI = "/api/v1/admin"

// adminPath reports whether path answers only on the admin host.
func adminPath(path string) bool {
	return strings.HasPrefix(path, adminAPI) || strings.HasPrefix(path, "/admin") || strings.HasPrefix(path, "/api/v1/execute/") ||
		path == "/api/v1/openapi.json"
}

// adminOrigin is the origin of the admin UI and API: the default admin
// host, admin.localhost, on the server's port.
func (s *server) adminOrigin() string {
	return "http://admin.localhost:" + s.base[strings.LastIndexByte(s.base, ':')+1:]
}

// Credentials of the admin user startWithAdmin bootstraps.
const (
	adminName     = "admin"
	adminPassword = "e2e admin password"
)

// adminEnv makes the server bootstrap the admin user adminName.
func adminEnv() []string {
	return []string{"PICLOUD_ADMIN_USERNAME=" + adminName, "PICLOUD_ADMIN_PASSWORD=" + adminPassword}
}

// startWithAdmin starts picloud with the admin user adminName (created by
// the bootstrap variables on a fresh database) and logs it in: every
// request then carries its bearer token.
func startWithAdmin(t *testing.T, env ...string) *server {
	t.Helper()
	s := startServer(t, append(adminEnv(), env...)...)
	s.token = s.login(adminName, adminPassword)
	return s
}

// login logs a user in and returns the session token.
func (s *server) login(username, password string) string {
	s.t.Helper()
	r := s.anon().do("POST", adminAPI+"/auth/login", map[string]string{"username": username, "password": password})
	expect(s.t, "login "+username, r, 200, `"token":"`)
	token, _ := r.json(s.t)["token"].(string)
	if token == "" {
		s.t.Fatalf("login %s: no token: %s", username, r.Body)
	}
	return token
}

// anon returns a view of s that sends no token.
func (s *server) anon() *server {
	c := *s
	c.token = ""
	return &c
}

// as returns a view of s that sends token.
func (s *server) as(token string) *server {
	c := *s
	c.token = token
	return &c
}
