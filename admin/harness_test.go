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
}

func (d *recordingDeployer) AppChanged(_ context.Context, appID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.changed = append(d.changed, appID)
	return d.err
}

func (d *recordingDeployer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.changed)
}

// apiServer is the admin API on a real listener over a test database.
type apiServer struct {
	base     string
	db       *models.DB
	deployer *recordingDeployer
}

func startAPI(t *testing.T, tg testdb.Target) *apiServer {
	t.Helper()
	db := testdb.Open(t, tg)
	dep := &recordingDeployer{}
	api := admin.New(admin.Options{
		DB: db, Deployer: dep, Config: map[string]string{"listen": "test"},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseDomain: "localhost", MaxRequestBody: 1 << 20,
	})
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
	return &apiServer{base: "http://" + ln.Addr().String() + admin.Prefix, db: db, deployer: dep}
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
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != sc.status {
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
