package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// client runs the picloud client commands as one user: its own config
// dir (where login keeps the session), against one server.
type client struct {
	t      *testing.T
	home   string
	server string
	env    []string
}

func newClient(t *testing.T, server string, env ...string) *client {
	return &client{t: t, home: t.TempDir(), server: server, env: env}
}

func (c *client) command(stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(picloudBin, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + c.home,
		"XDG_CONFIG_HOME=" + filepath.Join(c.home, ".config"),
		"PICLOUD_SERVER=" + c.server,
	}, c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// run runs a client command to completion.
func (c *client) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := c.command(stdin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			c.t.Fatalf("picloud %v: %v", args, err)
		}
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// must runs a client command that must succeed and returns its stdout.
func (c *client) must(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("picloud %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// lines is a process's output read line by line as it comes.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func readLines(r io.Reader) *lines {
	l := &lines{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			select {
			case l.more <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

// wait returns the first line from index from on matching re, waiting
// up to timeout, and the index after it.
func (l *lines) wait(t *testing.T, from int, re *regexp.Regexp, timeout time.Duration) (string, int) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			if re.MatchString(l.all[i]) {
				line := l.all[i]
				l.mu.Unlock()
				return line, i + 1
			}
		}
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no line matching %q within %s; got:\n%s", re, timeout, l.String())
		}
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// startCommand starts a long-running client command, stopped (SIGINT)
// at cleanup.
func (c *client) start(args ...string) (stdout, stderr *lines) {
	c.t.Helper()
	cmd := c.command("", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	stdout, stderr = readLines(out), readLines(errPipe)
	c.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				c.t.Errorf("picloud %v ended with %v\nstderr:\n%s", args, err, stderr)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			c.t.Errorf("picloud %v did not stop within 20s of SIGINT", args)
		}
	})
	return stdout, stderr
}

// writeFiles writes files (name -> content) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const cliGreet = `package main

import "picloud"

//picloud:route GET /greet/:name
func Handle(req *picloud.Request) *picloud.Response {
	picloud.Log("greeting", req.Params["name"])
	return picloud.JSON(200, map[string]any{"greeting": "hello " + req.Params["name"]})
}
`

const cliUsers = `//picloud:name people
package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "people "+req.Method)
}
`

// cliBroken fails to compile at line 6, column 9.
const cliBroken = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return undefinedThing(req)
}
`

// versionsOf returns how many versions each script of app has.
func (s *server) versionsOf(app string) map[string]int {
	s.t.Helper()
	var scripts struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	r := s.do("GET", adminAPI+"/apps/"+app+"/scripts", nil)
	expect(s.t, "list scripts", r, 200)
	if err := json.Unmarshal(r.Body, &scripts); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int{}
	for _, sc := range scripts.Items {
		var versions struct {
			Items []any `json:"items"`
		}
		r := s.do("GET", fmt.Sprintf("%s/scripts/%d/versions", adminAPI, sc.ID), nil)
		if err := json.Unmarshal(r.Body, &versions); err != nil {
			s.t.Fatal(err)
		}
		out[sc.Name] = len(versions.Items)
	}
	return out
}

// TestCLI walks the client against the real server: login, deploy of a
// folder, a redeploy that changes nothing, a compile error, logs
// --follow, tokens, invoke and logout.
func TestCLI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startWithAdmin(t, "PICLOUD_DATA_DIR="+tg.DataDir, "PICLOUD_DATABASE_URL="+tg.URL)
		// The CLI talks to the admin host, admin.localhost, which it
		// dials on loopback.
		c := newClient(t, s.adminOrigin())
		port := s.base[strings.LastIndexByte(s.base, ':')+1:]
		expect(t, "readyz", s.do("GET", "/readyz", nil), 200,
			`"status":"ready"`, `"database":"ok"`, `"migrations":"ok"`, `"workers":"ok"`)
		expect(t, "readyz on the admin host", s.do("GET", "/readyz", nil, "Host", "admin.localhost"), 200, `"status":"ready"`)
		expect(t, "openapi", s.anon().do("GET", "/api/v1/openapi.json", nil), 200, `"openapi": "3.1.0"`, `"/invocations/stream"`)
		expect(t, "openapi on an app's host", s.anon().do("GET", "/api/v1/openapi.json", nil, "Host", "localhost"), 404, "server.admin_host")

		// Another URL of the server is no admin host: the CLI says where
		// the admin API is.
		if _, errOut, code := newClient(t, s.base).run(adminPassword+"\n", "login", "-u", adminName, "--password-stdin"); code != 1 ||
			!strings.Contains(errOut, "admin host") {
			t.Fatalf("login on the public host: exit %d, %s", code, errOut)
		}

		// Login keeps the session in the user's config dir, for the user
		// alone; a wrong password keeps nothing.
		if _, errOut, code := c.run("wrong password", "login", "-u", adminName, "--password-stdin"); code != 1 || !strings.Contains(errOut, "invalid username or password") {
			t.Fatalf("login with a wrong password: exit %d, %s", code, errOut)
		}
		if out := c.must(adminPassword+"\n", "login", "-u", adminName, "--password-stdin"); !strings.Contains(out, "Logged in to "+s.adminOrigin()+" as admin") {
			t.Fatalf("login said %q", out)
		}
		creds := filepath.Join(c.home, ".config", "picloud", "credentials.json")
		for path, mode := range map[string]os.FileMode{creds: 0o600, filepath.Dir(creds): 0o700 | os.ModeDir} {
			if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
				t.Fatalf("%s: %v, mode %v; want %v", path, err, fi.Mode(), mode)
			}
		}

		// A folder is an app: created on the first deploy, its scripts
		// and routes from comments and picloud.hcl.
		dir := filepath.Join(t.TempDir(), "shop")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{
			"greet.go":    cliGreet,
			"users.go":    cliUsers,
			"picloud.hcl": "script \"people\" {\n  routes = [\"GET /people\", \"POST /people\"]\n}\n",
		})
		out := c.must("", "deploy", dir)
		for _, w := range []string{"Created app shop", "greet   v1   created", "people  v1   created",
			"GET    http://shop.localhost:" + port + "/greet/:name", "POST   http://shop.localhost:" + port + "/people"} {
			if !strings.Contains(out, w) {
				t.Fatalf("deploy output lacks %q:\n%s", w, out)
			}
		}
		expect(t, "greet", s.do("GET", "/greet/ann", nil, "Host", "shop.localhost"), 200, `{"greeting":"hello ann"}`)
		expect(t, "people", s.do("POST", "/people", nil, "Host", "shop.localhost"), 200, "people POST")

		// The same folder again makes no version.
		out = c.must("", "deploy", dir)
		if !strings.Contains(out, "greet   v1   unchanged") || !strings.Contains(out, "people  v1   unchanged") {
			t.Fatalf("redeploy output:\n%s", out)
		}
		if v := s.versionsOf("shop"); v["greet"] != 1 || v["people"] != 1 {
			t.Fatalf("versions after a redeploy without changes: %v, want one each", v)
		}

		// A compile error is printed as file:line:col, exits 1, and the
		// live version keeps serving.
		writeFiles(t, dir, map[string]string{"greet.go": cliBroken})
		stdout, stderr, code := c.run("", "deploy", dir)
		wantErr := filepath.Join(dir, "greet.go") + ":6:9: undefined: undefinedThing"
		if code != 1 || !strings.Contains(stderr, wantErr+"\n") {
			t.Fatalf("deploy of a broken file: exit %d, want 1 and %q on stderr\nstdout:\n%s\nstderr:\n%s", code, wantErr, stdout, stderr)
		}
		expect(t, "greet after a broken deploy", s.do("GET", "/greet/ann", nil, "Host", "shop.localhost"), 200, `{"greeting":"hello ann"}`)
		writeFiles(t, dir, map[string]string{"greet.go": strings.Replace(cliGreet, `"hello "`, `"hi "`, 1)})
		if out := c.must("", "deploy", dir); !strings.Contains(out, "greet   v2   updated") {
			t.Fatalf("deploy of the fix:\n%s", out)
		}

		// logs --follow shows a new call within a second.
		followOut, followErr := c.start("logs", "--follow", "--app", "shop", "-n", "0")
		followErr.wait(t, 0, regexp.MustCompile("^Following new invocations"), 10*time.Second)
		called := time.Now()
		expect(t, "greet", s.do("GET", "/greet/follow-me", nil, "Host", "shop.localhost"), 200)
		line, next := followOut.wait(t, 0, regexp.MustCompile(` 200 .* shop/greet v2  GET /greet/follow-me `), 5*time.Second)
		if took := time.Since(called); took > time.Second {
			t.Errorf("logs --follow showed the call %s after it was made, want within 1s: %s", took, line)
		}
		followOut.wait(t, next, regexp.MustCompile(`^  \| greeting follow-me$`), time.Second)
		t.Logf("logs --follow saw the call %s after it was made", time.Since(called).Round(time.Millisecond))

		// Listings speak JSON too.
		var routes []map[string]any
		if err := json.Unmarshal([]byte(c.must("", "routes", "--app", "shop", "-o", "json")), &routes); err != nil || len(routes) != 3 {
			t.Fatalf("routes -o json: %v, %v", routes, err)
		}

		// invoke prints the answer and the script's log.
		out = c.must("", "invoke", "greet", "--app", "shop")
		for _, w := range []string{"200 OK", "greet v2", `{"greeting":"hi "}`, "log:", "| greeting"} {
			if !strings.Contains(out, w) {
				t.Fatalf("invoke output lacks %q:\n%s", w, out)
			}
		}

		// An API token works for another user of the CLI, until revoked.
		token := strings.TrimSpace(c.must("", "tokens", "create", "ci", "--expires-in", "1d"))
		ci := newClient(t, s.adminOrigin(), "PICLOUD_TOKEN="+token)
		if out := ci.must("", "apps"); !strings.Contains(out, "shop") {
			t.Fatalf("apps with the API token:\n%s", out)
		}
		if out := c.must("", "tokens", "list"); !strings.Contains(out, "ci ") || strings.Contains(out, token) {
			t.Fatalf("tokens list:\n%s", out)
		}
		c.must("", "tokens", "revoke", "ci")
		if _, errOut, code := ci.run("", "apps"); code != 1 || !strings.Contains(errOut, "401") {
			t.Fatalf("apps with a revoked token: exit %d, %s", code, errOut)
		}

		// logout ends the session on the server and forgets it.
		c.must("", "logout")
		if _, errOut, code := c.run("", "apps"); code != 1 || !strings.Contains(errOut, "not logged in") {
			t.Fatalf("apps after logout: exit %d, %s", code, errOut)
		}
	})
}
