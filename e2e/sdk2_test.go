package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// SDK v2 against the real binary, with scripts in worker processes
// (executor.isolation = "process", the default): a script's KV, secret,
// fetch and invoke calls go from its worker to the server.

// startSDK2 starts picloud on tg with the admin user logged in, the
// config hcl and env.
func startSDK2(t *testing.T, tg testdb.Target, hcl string, env ...string) *server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PICLOUD_DATA_DIR="+tg.DataDir, "PICLOUD_DATABASE_URL="+tg.URL)
	s := startServerArgs(t, []string{"--config", path}, append(adminEnv(), env...)...)
	s.token = s.login(adminName, adminPassword)
	return s
}

// deployApp creates app slug with script name bound to ANY path.
func (s *server) deployApp(t *testing.T, slug, name, source, path string) int64 {
	t.Helper()
	if r := s.do("GET", adminAPI+"/apps/"+slug, nil); r.Status == 404 {
		expect(t, "create app "+slug, s.do("POST", adminAPI+"/apps", map[string]string{"slug": slug}), 201)
	}
	return s.deploy(t, slug, name, source, path)
}

const counterScript = `package main

import (
	"strconv"
	"time"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	switch req.Path {
	case "/hit":
		n, err := picloud.KV.Increment("hits", 1)
		if err != nil {
			return picloud.Text(500, err.Error())
		}
		return picloud.Text(200, strconv.FormatInt(n, 10))
	case "/count":
		v, _, err := picloud.KV.Get("hits")
		if err != nil {
			return picloud.Text(500, err.Error())
		}
		return picloud.Text(200, string(v))
	case "/ttl":
		if err := picloud.KV.Set("short", []byte("here"), time.Second); err != nil {
			return picloud.Text(500, err.Error())
		}
		return picloud.Text(200, "set")
	case "/short":
		v, ok, _ := picloud.KV.Get("short")
		if !ok {
			return picloud.Text(404, "gone")
		}
		return picloud.Text(200, string(v))
	case "/fill":
		for i := 0; ; i++ {
			if err := picloud.KV.Set("k"+strconv.Itoa(i), []byte("v"), 0); err != nil {
				return picloud.Text(507, err.Error())
			}
		}
	}
	return picloud.Text(404, "no such path")
}
`

// TestKVCounter: 200 concurrent calls of a counter script end at
// exactly 200; a key with a TTL disappears; the quota is a clear error.
func TestKVCounter(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startSDK2(t, tg, "kv {\n  max_keys = 5\n}\n")
		s.deployApp(t, "count", "counter", counterScript, "/*path")
		host := "count.localhost"
		const calls = 200
		var wg sync.WaitGroup
		errs := make(chan string, calls)
		for range calls {
			wg.Go(func() {
				for {
					r := s.do("POST", "/hit", nil, "Host", host)
					if r.Status == 503 { // the pool's queue is full: try again
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if r.Status != 200 {
						errs <- fmt.Sprintf("%d %s", r.Status, r.Body)
					}
					return
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		expect(t, "count", s.do("GET", "/count", nil, "Host", host), 200, "200")
		if r := s.do("GET", "/count", nil, "Host", host); string(r.Body) != "200" {
			t.Errorf("counter = %s after %d concurrent increments", r.Body, calls)
		}

		expect(t, "set with ttl", s.do("POST", "/ttl", nil, "Host", host), 200, "set")
		expect(t, "read at once", s.do("GET", "/short", nil, "Host", host), 200, "here")
		eventually(t, 5*time.Second, "the key to expire", func() bool {
			return s.do("GET", "/short", nil, "Host", host).Status == 404
		})
		expect(t, "quota", s.do("POST", "/fill", nil, "Host", host), 507, "kv quota exceeded", "its limit is 5")
		expect(t, "admin sees the keys", s.do("GET", adminAPI+"/apps/count/kv?prefix=k", nil), 200, `"key":"k0"`, `"max_keys":5`)
	})
}

const secretScript = `package main

import (
	"crypto/sha256"
	"encoding/hex"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	v, ok := picloud.Secret("API_KEY")
	if !ok {
		return picloud.Text(404, "no secret")
	}
	picloud.Log("calling the API with", v)
	sum := sha256.Sum256([]byte(v))
	return picloud.Text(200, hex.EncodeToString(sum[:]))
}
`

// TestSecrets: a script reads its app's secret; the value is in no API
// answer, log line or invocation record, and the database holds only
// its ciphertext.
func TestSecrets(t *testing.T) {
	tg := testdb.SQLite(t)
	s := startSDK2(t, tg, "")
	s.deployApp(t, "vault", "reader", secretScript, "/")
	const value = "sk_live_e2e_0123456789abcdef"
	var answers [][]byte
	keep := func(r response) response { answers = append(answers, r.Body); return r }
	expect(t, "no secret yet", keep(s.do("GET", "/", nil, "Host", "vault.localhost")), 404)
	expect(t, "set", keep(s.do("PUT", adminAPI+"/apps/vault/secrets/API_KEY", map[string]string{"value": value})), 201, `"fingerprint"`)
	sum := sha256.Sum256([]byte(value))
	expect(t, "the script reads it on its next call", keep(s.do("GET", "/", nil, "Host", "vault.localhost")), 200, hex.EncodeToString(sum[:]))
	expect(t, "list", keep(s.do("GET", adminAPI+"/apps/vault/secrets", nil)), 200, `"name":"API_KEY"`)
	eventually(t, 5*time.Second, "the invocation record", func() bool {
		r := keep(s.do("GET", adminAPI+"/invocations?app=vault", nil))
		return bytes.Contains(r.Body, []byte("calling the API with [secret API_KEY]"))
	})
	keep(s.do("GET", adminAPI+"/config", nil))
	for i, a := range answers {
		if bytes.Contains(a, []byte(value)) {
			t.Errorf("API answer %d holds the secret: %s", i, a)
		}
	}
	s.stop()
	if strings.Contains(s.logs.String(), value) {
		t.Errorf("the server log holds the secret")
	}
	files, _ := filepath.Glob(filepath.Join(tg.DataDir, "picloud.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(value)) {
			t.Errorf("%s holds the secret in clear", filepath.Base(f))
		}
	}
	if info, err := os.Stat(filepath.Join(tg.DataDir, "secret.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
}

const fetchScript = `package main

import (
	"strconv"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	resp, err := picloud.Fetch(&picloud.FetchRequest{URL: req.QueryParam("url")})
	if err != nil {
		return picloud.Text(502, err.Error())
	}
	return picloud.Text(200, strconv.Itoa(resp.Status)+" "+string(resp.Body))
}
`

// TestFetchGuard: scripts fetch from a server they may reach and are
// refused every loopback, private and metadata target, by any spelling,
// through a name, or through a redirect. No packet leaves the loopback:
// this test build resolves names from a table and refuses to dial past
// 127.0.0.0/8, and the test fails if the guard ever let such a dial
// through.
func TestFetchGuard(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello from upstream") })
	var local string
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+local+"/secret", http.StatusFound)
	})
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "the secret upstream") })
	upstream := httptest.NewServer(mux)
	defer upstream.Close()
	local = strings.TrimPrefix(upstream.URL, "http://")
	_, port, _ := net.SplitHostPort(local)
	env := []string{
		"PICLOUD_TEST_HOSTS=public.test=93.184.216.34,private.test=10.0.0.7,metadata.test=169.254.169.254,localhost=127.0.0.1",
		"PICLOUD_TEST_DIALS=93.184.216.34:" + port + "=" + local,
	}
	get := func(s *server, target string) response {
		return s.do("GET", "/?url="+target, nil, "Host", "net.localhost")
	}

	t.Run("refused", func(t *testing.T) {
		s := startSDK2(t, testdb.SQLite(t), "", env...)
		s.deployApp(t, "net", "fetcher", fetchScript, "/")
		expect(t, "a public server", get(s, "http://public.test:"+port+"/hello?token=abc"), 200, "200 hello from upstream")
		for _, target := range []string{
			"http://127.0.0.1:" + port + "/secret",
			"http://localhost:" + port + "/secret",
			"http://[::1]:" + port + "/secret",
			"http://127.1:" + port + "/secret",
			"http://0x7f000001:" + port + "/secret",
			"http://private.test/",
			"http://metadata.test/latest/meta-data/",
			"http://169.254.169.254/latest/meta-data/",
			"http://public.test:" + port + "/redirect",
			"file:///etc/passwd",
		} {
			expect(t, target, get(s, target), 502, "refused")
		}
		eventually(t, 5*time.Second, "the fetch in the invocation log", func() bool {
			r := s.do("GET", adminAPI+"/invocations?app=net", nil)
			return bytes.Contains(r.Body, []byte(`"url":"http://public.test:`+port+`/hello"`)) && !bytes.Contains(r.Body, []byte("token=abc"))
		})
		if strings.Contains(s.logs.String(), "E2E-DIAL-REFUSED") {
			t.Errorf("the guard let a dial past the loopback through:\n%s", s.logs.String())
		}
	})

	t.Run("allowed on purpose", func(t *testing.T) {
		s := startSDK2(t, testdb.SQLite(t), "server {\n  fetch_allow_private = true\n}\n", env...)
		s.deployApp(t, "net", "fetcher", fetchScript, "/")
		expect(t, "a local server", get(s, "http://"+local+"/hello"), 200, "200 hello from upstream")
		expect(t, "metadata stays refused", get(s, "http://metadata.test/"), 502, "cloud metadata")
		if strings.Contains(s.logs.String(), "E2E-DIAL-REFUSED") {
			t.Errorf("the guard let a dial past the loopback through:\n%s", s.logs.String())
		}
	})
}

const invokeScripts = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	switch req.Path {
	case "/loop":
		r, err := picloud.Invoke("caller", &picloud.Request{Method: "GET", Path: "/loop"})
		if err != nil {
			return picloud.Text(508, err.Error())
		}
		return r
	case "/greet":
		r, err := picloud.Invoke("greeter", &picloud.Request{Method: "GET", Path: "/hi"})
		if err != nil {
			return picloud.Text(500, err.Error())
		}
		return picloud.Text(r.Status, "greeter said: "+string(r.Body))
	case "/cross":
		_, err := picloud.Invoke("greeter2", nil)
		return picloud.Text(404, err.Error())
	}
	return picloud.Text(404, "?")
}
`

const greeterScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "hello via "+req.Trigger+" at "+req.Path)
}
`

// TestInvoke: a script calls another of its app through the router; a
// loop of calls stops at the depth limit with a clear error; an app's
// script cannot reach another app's.
func TestInvoke(t *testing.T) {
	s := startSDK2(t, testdb.SQLite(t), "")
	s.deployApp(t, "calls", "caller", invokeScripts, "/*path")
	s.deployApp(t, "calls", "greeter", greeterScript, "/hello")
	s.deployApp(t, "other", "greeter2", greeterScript, "/")
	expect(t, "invoke", s.do("GET", "/greet", nil, "Host", "calls.localhost"), 200, "greeter said: hello via invoke at /hi")
	expect(t, "loop", s.do("GET", "/loop", nil, "Host", "calls.localhost"), 508, "call depth limit of 4 reached")
	expect(t, "another app's script", s.do("GET", "/cross", nil, "Host", "calls.localhost"), 404, `no script "greeter2"`)
	eventually(t, 5*time.Second, "the invoked call in the invocation log", func() bool {
		r := s.do("GET", adminAPI+"/invocations?app=calls", nil)
		return bytes.Contains(r.Body, []byte(`"trigger":"invoke"`))
	})
}

const scheduledScript = `package main

import (
	"encoding/json"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	var ev struct {
		ScheduledTime string ` + "`json:\"scheduled_time\"`" + `
	}
	json.Unmarshal(req.Body, &ev)
	if req.Trigger != "schedule" || ev.ScheduledTime == "" {
		return picloud.Text(400, "not a firing")
	}
	picloud.KV.Increment("fired:"+ev.ScheduledTime, 1)
	picloud.KV.Increment("firings", 1)
	return picloud.Text(200, "fired")
}
`

const firingsScript = `package main

import (
	"strings"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	keys, _, _ := picloud.KV.List("fired:", "", 1000)
	var out []string
	for _, k := range keys {
		v, _, _ := picloud.KV.Get(k)
		out = append(out, k+"="+string(v))
	}
	return picloud.Text(200, strings.Join(out, "\n"))
}
`

// TestScheduleExactlyOnce: a schedule every second, watched by two
// servers on one PostgreSQL database, fires about once a second and
// each firing once.
func TestScheduleExactlyOnce(t *testing.T) {
	tg := testdb.Postgres(t)
	a := startSDK2(t, tg, "")
	b := startSDK2(t, testdb.Target{Name: tg.Name, URL: tg.URL, DataDir: t.TempDir()}, "",
		// The second server seals secrets with the first's key, as a
		// cluster's nodes must.
		"PICLOUD_SECRET_KEY="+readKey(t, tg.DataDir))
	id := a.deployApp(t, "cron", "tick", scheduledScript, "/tick")
	a.deployApp(t, "cron", "firings", firingsScript, "/firings")
	expect(t, "schedule", a.do("POST", fmt.Sprintf("%s/scripts/%d/schedules", adminAPI, id), map[string]string{"cron": "* * * * * *"}), 201, `"next_runs"`)
	start := time.Now()
	var lines []string
	eventually(t, 20*time.Second, "five firings", func() bool {
		r := b.do("GET", "/firings", nil, "Host", "cron.localhost")
		lines = strings.Fields(string(r.Body))
		return r.Status == 200 && len(lines) >= 5
	})
	elapsed := time.Since(start)
	for _, l := range lines {
		if !strings.HasSuffix(l, "=1") {
			t.Errorf("firing %s ran more than once", l)
		}
	}
	if elapsed < 3*time.Second {
		t.Errorf("five firings within %s: more than one a second", elapsed)
	}
	eventually(t, 5*time.Second, "the firings in the invocation log", func() bool {
		r := a.do("GET", adminAPI+"/invocations?app=cron", nil)
		return bytes.Contains(r.Body, []byte(`"trigger":"schedule"`))
	})
	both := a.logs.String() + b.logs.String()
	if strings.Contains(both, "schedule firing failed") {
		t.Errorf("a firing failed:\n%s", both)
	}
}

// readKey returns the secret key in the key file of dataDir.
func readKey(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	t.Fatal("no key in the key file")
	return ""
}
