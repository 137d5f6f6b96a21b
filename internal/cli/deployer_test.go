package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/appdir"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/worker"
)

// nopDeployer stands in for the control plane: the admin API stores
// changes, nothing runs them.
type nopDeployer struct{}

func (nopDeployer) AppChanged(context.Context, int64) error { return nil }
func (nopDeployer) AppStatus(context.Context, int64) ([]admin.ScriptState, error) {
	return nil, nil
}

// envCheckChild makes the test binary act as `picloud check`, so uploads
// are checked as in the server: in a checker process. It is read in
// init, before any test runs.
const envCheckChild = "PICLOUD_CLI_TEST_CHECKER"

func init() {
	if os.Getenv(envCheckChild) == "1" {
		opts, err := worker.CheckOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunCheck(context.Background(), os.Stdin, os.Stdout, opts))
	}
}

// testChecker checks sources in checker processes that are this test
// binary.
func testChecker(t *testing.T) *worker.Checker {
	t.Helper()
	c, err := worker.NewChecker(worker.CheckerOptions{
		Command:     []string{os.Args[0]},
		Env:         []string{envCheckChild + "=1"},
		MemoryLimit: 256 << 20,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startAdmin serves the real admin API on a test database and returns a
// client logged in as an admin.
func startAdmin(t *testing.T) *apiclient.Client {
	t.Helper()
	db := testdb.Open(t, testdb.SQLite(t))
	argon := admin.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	api := admin.New(admin.Options{
		DB: db, Deployer: nopDeployer{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Argon2: argon,
		Config:     map[string]any{"server": map[string]any{"base_domain": "localhost", "default_app": "hello"}},
		BaseDomain: "localhost", AdminHost: "admin.localhost", Checker: testChecker(t),
	})
	u := &models.AdminUser{Username: "root", PasswordHash: admin.HashPassword(argon, "a long enough password")}
	if err := db.CreateAdminUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: api.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	// The admin host, dialed on loopback as the CLI dials it.
	c := apiclient.New("http://admin.localhost:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "")
	sess, err := c.Login(context.Background(), "root", "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	c.Token = sess.Token
	return c
}

const okScript = "package main\n\nimport \"picloud\"\n\n%sfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.Text(200, %q)\n}\n"

func script(directives, answer string) string {
	return strings.Replace(strings.Replace(okScript, "%s", directives, 1), "%q", `"`+answer+`"`, 1)
}

// deployDir writes files into a fresh folder and deploys it.
func deployDir(t *testing.T, d *appDeployer, dir string, files map[string]string) []scriptResult {
	t.Helper()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if src == "" {
			os.Remove(path)
			continue
		}
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	app, err := appdir.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := d.deploy(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// outcomes summarises results as "name:vN:outcome".
func outcomes(results []scriptResult) []string {
	var out []string
	for _, r := range results {
		out = append(out, r.Name+":v"+strconv.FormatInt(r.Version, 10)+":"+r.Outcome)
	}
	return out
}

// routeTable lists the app's routes as "METHOD path -> script".
func routeTable(t *testing.T, c *apiclient.Client) []string {
	t.Helper()
	ctx := context.Background()
	scripts, err := c.Scripts(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{}
	for _, s := range scripts {
		names[s.ID] = s.Name
	}
	routes, err := c.AppRoutes(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range routes {
		out = append(out, r.Method+" "+r.Path+" -> "+names[r.ScriptID])
	}
	slices.Sort(out)
	return out
}

func TestAppDeployer(t *testing.T) {
	c := startAdmin(t)
	ctx := context.Background()
	var log bytes.Buffer
	d, err := newAppDeployer(ctx, c, "shop", true, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "Created app shop.") {
		t.Errorf("log %q", log.String())
	}
	dir := t.TempDir()

	steps := []struct {
		name     string
		files    map[string]string // "" deletes the file
		outcomes []string
		routes   []string
		problems []string
	}{
		{"first deploy", map[string]string{
			"a.go": script("//picloud:route GET /a\n//picloud:route GET /shared\n", "a1"),
			"b.go": script("//picloud:route GET /b\n", "b1"),
			"c.go": script("", "c1"),
		}, []string{"a:v1:created", "b:v1:created", "c:v1:created"},
			[]string{"GET /a -> a", "GET /b -> b", "GET /shared -> a"}, nil},
		{"nothing changed", nil,
			[]string{"a:v1:unchanged", "b:v1:unchanged", "c:v1:unchanged"},
			[]string{"GET /a -> a", "GET /b -> b", "GET /shared -> a"}, nil},
		{"a route moves from a to b in one deploy", map[string]string{
			"a.go": script("//picloud:route GET /a\n", "a1"),
			"b.go": script("//picloud:route GET /b\n//picloud:route GET /shared\n", "b1"),
		}, []string{"a:v2:updated", "b:v2:updated", "c:v1:unchanged"},
			[]string{"GET /a -> a", "GET /b -> b", "GET /shared -> b"}, nil},
		{"a new source, a compile error, a route conflict", map[string]string{
			"a.go": script("//picloud:route GET /a\n", "a2"),
			"b.go": "package main\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn nil\n}\n",
			"c.go": script("//picloud:route GET /a\n", "c1"),
		}, []string{"a:v3:updated", "b:v2:failed", "c:v2:updated"},
			[]string{"GET /a -> a", "GET /b -> b", "GET /shared -> b"},
			[]string{"b.go:3:", "c.go:5:1: route GET /a: "}},
	}
	for _, st := range steps {
		results := deployDir(t, d, dir, st.files)
		if got := outcomes(results); !slices.Equal(got, st.outcomes) {
			t.Fatalf("%s: outcomes %v, want %v", st.name, got, st.outcomes)
		}
		if got := routeTable(t, c); !slices.Equal(got, st.routes) {
			t.Fatalf("%s: routes %v, want %v", st.name, got, st.routes)
		}
		var problems []string
		for _, r := range results {
			problems = append(problems, r.Problems...)
		}
		if len(problems) != len(st.problems) {
			t.Fatalf("%s: problems %q, want %q", st.name, problems, st.problems)
		}
		for i, p := range st.problems {
			if !strings.Contains(problems[i], p) {
				t.Errorf("%s: problem %q lacks %q", st.name, problems[i], p)
			}
		}
	}

	// A script declaring no routes keeps those bound by hand; a file gone
	// leaves its script alone unless pruned.
	scripts, _ := c.Scripts(ctx, "shop")
	var cID int64
	for _, s := range scripts {
		if s.Name == "c" {
			cID = s.ID
		}
	}
	if _, err := c.CreateRoute(ctx, cID, "GET", "/by-hand"); err != nil {
		t.Fatal(err)
	}
	if err := d.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	deployDir(t, d, dir, map[string]string{"c.go": script("", "c2"), "b.go": ""})
	if got := routeTable(t, c); !slices.Contains(got, "GET /by-hand -> c") || !slices.Contains(got, "GET /b -> b") {
		t.Fatalf("routes %v: the hand-bound route or b's went", got)
	}
	app, _ := appdir.LoadDir(dir)
	var out bytes.Buffer
	if err := d.prune(ctx, app, false, &out); err != nil || !strings.Contains(out.String(), "b is not in the folder: left alone") {
		t.Fatalf("prune without --prune: %v, %q", err, out.String())
	}
	if err := d.prune(ctx, app, true, &out); err != nil {
		t.Fatal(err)
	}
	if got := routeTable(t, c); slices.ContainsFunc(got, func(r string) bool { return strings.HasSuffix(r, "-> b") }) {
		t.Fatalf("routes after --prune: %v", got)
	}
}

func TestNormalizeServer(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"admin.localhost:8080", "http://admin.localhost:8080", ""},
		{"https://pi.example.com/", "https://pi.example.com", ""},
		{" http://pi.example.com ", "http://pi.example.com", ""},
		{"ftp://pi.example.com", "", "want the admin host's base URL"},
		{"https://pi.example.com/api", "", "want the admin host's base URL"},
		{"https://", "", "want the admin host's base URL"},
	}
	for _, tt := range tests {
		got, err := normalizeServer(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("normalizeServer(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	g := &globals{env: Env{Getenv: func(string) string { return "" }, ConfigDir: func() (string, error) { return dir, nil }}}
	creds, err := g.loadCredentials()
	if err != nil || len(creds.Servers) != 0 {
		t.Fatalf("no file: %+v, %v", creds, err)
	}
	creds.Servers["http://a"] = credential{Username: "u", Token: "t"}
	creds.Default = "http://a"
	if err := g.saveCredentials(creds); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "picloud", "credentials.json")
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode(), err, mode)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("leftovers beside the credentials: %v", entries)
	}
	server, err := g.serverURL()
	if err != nil || server != "http://a" {
		t.Fatalf("serverURL = %q, %v; want the stored default", server, err)
	}
	c, err := g.client()
	if err != nil || c.Token != "t" {
		t.Fatalf("client: %+v, %v", c, err)
	}
	g.env.Getenv = func(k string) string {
		return map[string]string{EnvServer: "b:1", EnvToken: "env-token"}[k]
	}
	if c, err := g.client(); err != nil || c.BaseURL != "http://b:1" || c.Token != "env-token" {
		t.Fatalf("client with the environment: %+v, %v", c, err)
	}
	g.server = "https://flag.example"
	if s, _ := g.serverURL(); s != "https://flag.example" {
		t.Fatalf("--server loses to %q", s)
	}
}

func TestCompileProblem(t *testing.T) {
	tests := []struct {
		e    apiclient.Error
		want string
	}{
		{apiclient.Error{Line: 6, Column: 9, Message: "line 6, column 9: undefined: x"}, "shop/a.go:6:9: undefined: x"},
		{apiclient.Error{Field: "name", Message: "name: must be ..."}, "shop/a.go: name: name: must be ..."},
		{apiclient.Error{Field: "source", Message: "source: is required"}, "shop/a.go: source: is required"},
	}
	for _, tt := range tests {
		if got := compileProblem("shop/a.go", &tt.e); got != tt.want {
			t.Errorf("compileProblem = %q, want %q", got, tt.want)
		}
	}
}

// TestDeployMessage: `picloud deploy -m MSG` gives the versions the deploy
// makes that message; an unchanged file makes no version and keeps the
// live one's.
func TestDeployMessage(t *testing.T) {
	c := startAdmin(t)
	ctx := context.Background()
	d, err := newAppDeployer(ctx, c, "shop", true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	steps := []struct {
		name, message, answer string
		outcome               string
		live                  string
	}{
		{"create", "first cut", "a1", "a:v1:created", "first cut"},
		{"update without", "", "a2", "a:v2:updated", ""},
		{"update with", "fix the totals", "a3", "a:v3:updated", "fix the totals"},
		{"unchanged", "not stored", "a3", "a:v3:unchanged", "fix the totals"},
	}
	for _, st := range steps {
		d.message = st.message
		results := deployDir(t, d, dir, map[string]string{"a.go": script("", st.answer)})
		if got := outcomes(results); len(got) != 1 || got[0] != st.outcome {
			t.Fatalf("%s: outcomes %v, want %s", st.name, got, st.outcome)
		}
		live, err := c.Script(ctx, results[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if live.Message != st.live {
			t.Errorf("%s: live v%d message %q, want %q", st.name, live.Version, live.Message, st.live)
		}
	}
}
