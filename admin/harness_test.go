package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// recordingDeployer remembers which apps were reported changed.
type recordingDeployer struct {
	mu      sync.Mutex
	changed []int64
	err     error
	status  []admin.ScriptState
}

func (d *recordingDeployer) AppChanged(_ context.Context, appID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.changed = append(d.changed, appID)
	return d.err
}

// AppStatus answers a router with nothing parked, or status when set.
func (d *recordingDeployer) AppStatus(context.Context, int64) ([]admin.ScriptState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status, nil
}

func (d *recordingDeployer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.changed)
}

// cheapArgon2 makes password hashing fast in tests; the binary always
// uses admin.DefaultArgon2Params.
func cheapArgon2() admin.Argon2Params {
	return admin.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Credentials of the admin user startAPI creates.
const (
	rootName     = "root"
	rootPassword = "correct horse battery staple"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// apiServer is the admin API on a real listener over a test database,
// with a fake clock, and (from startAPI) an admin user logged in whose
// token every scenario sends unless it says otherwise.
type apiServer struct {
	base     string
	host     string
	api      *admin.API
	db       *models.DB
	deployer *recordingDeployer
	clock    *fakeClock
	logs     *syncBuffer
	root     *models.AdminUser
	token    string
}

// syncBuffer collects log output safely across goroutines.
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

// startAPI starts the API with the admin user root logged in; opts
// change the API's options.
func startAPI(t *testing.T, tg testdb.Target, opts ...func(*admin.Options)) *apiServer {
	t.Helper()
	s := startBareAPI(t, tg, opts...)
	s.root = s.addUser(t, rootName, rootPassword)
	s.token = s.login(t, rootName, rootPassword)
	return s
}

// addUser creates an admin user through package models.
func (s *apiServer) addUser(t *testing.T, name, password string) *models.AdminUser {
	t.Helper()
	u := &models.AdminUser{Username: name, PasswordHash: admin.HashPassword(cheapArgon2(), password)}
	if err := s.db.CreateAdminUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// login logs name in and returns the session token.
func (s *apiServer) login(t *testing.T, name, password string) string {
	t.Helper()
	var v struct {
		Token string `json:"token"`
	}
	body := s.run(t, scenario{name: "login " + name, method: "POST", url: "/auth/login", anon: true,
		body: map[string]string{"username": name, "password": password}, status: 200})
	if err := json.Unmarshal(body, &v); err != nil || v.Token == "" {
		t.Fatalf("login %s: no token in %s", name, body)
	}
	return v.Token
}

// startBareAPI starts the API on a database without admin users.
func startBareAPI(t *testing.T, tg testdb.Target, opts ...func(*admin.Options)) *apiServer {
	t.Helper()
	db := testdb.Open(t, tg)
	dep := &recordingDeployer{}
	clock := &fakeClock{now: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	o := admin.Options{
		DB: db, Deployer: dep, Config: map[string]string{"listen": "test"},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Now:    clock.Now, Argon2: cheapArgon2(),
		BaseDomain: "localhost", MaxRequestBody: 1 << 20, AdminHost: "admin.localhost",
		Checker: testChecker(t),
	}
	for _, opt := range opts {
		opt(&o)
	}
	api := admin.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		MaxRequestBodySize: 1 << 20,
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetUserValue(apierror.RequestIDKey, "test-req")
			api.Handler(ctx)
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return &apiServer{
		base: "http://" + ln.Addr().String() + admin.Prefix, host: ln.Addr().String(),
		api: api, db: db, deployer: dep, clock: clock, logs: logs,
	}
}

// scenario is one request against the API and what it must answer.
type scenario struct {
	name    string
	method  string
	url     string
	body    any // string sent as is; anything else JSON-encoded
	status  int
	want    []string // fragments the body must contain
	notWant []string // fragments it must not contain
	// anon sends no token; token, when set, is sent instead of the
	// server's; cookie sends it as the session cookie instead of a bearer.
	anon   bool
	token  string
	cookie bool
	// headers are added to the request; wantHeaders must be in the answer.
	headers     map[string]string
	wantHeaders map[string]string
	// response, when set, receives the response (its body already read).
	// A status of -1 accepts any.
	response **http.Response
}

func (s *apiServer) run(t *testing.T, sc scenario) []byte {
	t.Helper()
	var rd io.Reader
	switch b := sc.body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, sc.method, s.base+sc.url, rd)
	if err != nil {
		t.Fatal(err)
	}
	token := s.token
	if sc.token != "" {
		token = sc.token
	}
	switch {
	case sc.anon || token == "":
	case sc.cookie:
		req.AddCookie(&http.Cookie{Name: admin.SessionCookie, Value: token})
	default:
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range sc.headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	for k, v := range sc.wantHeaders {
		if got := res.Header.Get(k); !strings.Contains(got, v) {
			t.Fatalf("%s: header %s = %q, want it to contain %q", sc.name, k, got, v)
		}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if sc.response != nil {
		*sc.response = res
	}
	if sc.status != -1 && res.StatusCode != sc.status {
		t.Fatalf("%s: %s %s: status %d, want %d; body %s", sc.name, sc.method, sc.url, res.StatusCode, sc.status, body)
	}
	for _, w := range sc.want {
		if !bytes.Contains(body, []byte(w)) {
			t.Fatalf("%s: body lacks %q: %s", sc.name, w, body)
		}
	}
	for _, w := range sc.notWant {
		if bytes.Contains(body, []byte(w)) {
			t.Fatalf("%s: body has %q: %s", sc.name, w, body)
		}
	}
	return body
}

func (s *apiServer) runAll(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		s.run(t, sc)
	}
}

// create runs a scenario and returns the id in its JSON answer.
func (s *apiServer) create(t *testing.T, sc scenario) int64 {
	t.Helper()
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(s.run(t, sc), &v); err != nil || v.ID == 0 {
		t.Fatalf("%s: no id in answer (%v)", sc.name, err)
	}
	return v.ID
}
