package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/server"
	"github.com/picloud/picloud/worker"
)

// envCheckChild makes the test binary act as `picloud check`, the
// upload checker every server starts per upload.
const envCheckChild = "PICLOUD_SERVER_TEST_CHECK_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envCheckChild) == "1" {
		opts, err := worker.CheckOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunCheck(context.Background(), os.Stdin, os.Stdout, opts))
	}
	os.Exit(m.Run())
}

const (
	adminUser     = "admin"
	adminPassword = "a long enough password"
)

// startServer starts a server on tg listening on 127.0.0.1 port 0, with
// scripts run in the process and uploads checked by this test binary. It
// is shut down when t ends.
func startServer(t *testing.T, tg testdb.Target, change func(*config.Config)) *server.Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = tg.DataDir
	cfg.Database.URL = tg.URL
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Executor.Isolation = config.IsolationNone
	if change != nil {
		change(cfg)
	}
	var log io.Writer = io.Discard
	if testing.Verbose() {
		log = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.New(ctx, cfg, server.Options{
		Log:           log,
		Version:       "test",
		AdminUsername: adminUser,
		AdminPassword: adminPassword,
		CheckCommand:  []string{os.Args[0]},
		CheckEnv:      []string{envCheckChild + "=1"},
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

// login returns an admin API client of s, logged in as the admin.
func login(t *testing.T, s *server.Server) *apiclient.Client {
	t.Helper()
	c := apiclient.New(s.AdminURL(), "")
	sess, err := c.Login(context.Background(), adminUser, adminPassword)
	if err != nil {
		t.Fatalf("login on %s: %v", s.AdminURL(), err)
	}
	c.Token = sess.Token
	return c
}

// get sends GET url with the Host header host and returns the status
// and body.
func get(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// eventually fails t unless cond holds within within, polling often.
func eventually(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServerStartsAndStops: a server starts on port 0 on each database,
// serves the seeded app and /readyz, and stops.
func TestServerStartsAndStops(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startServer(t, tg, nil)
		if s.Addr().String() == "127.0.0.1:0" || !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
			t.Fatalf("Addr = %s, URL = %s", s.Addr(), s.URL())
		}
		if code, body := get(t, s.URL()+"/readyz", "localhost"); code != 200 {
			t.Fatalf("/readyz = %d %s", code, body)
		}
		if code, body := get(t, s.URL()+"/", "hello.localhost"); code != 200 {
			t.Fatalf("GET / on hello = %d %s", code, body)
		}
		login(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := http.Get(s.URL() + "/healthz"); err == nil {
			t.Fatal("the server still answers after Shutdown")
		}
	})
}

// TestTwoServersShareOneDatabase: two servers in one process on one
// PostgreSQL schema, each on its own port, both serve; the admin the
// first one created logs in on the second.
func TestTwoServersShareOneDatabase(t *testing.T) {
	tg := testdb.Postgres(t)
	a := startServer(t, tg, nil)
	b := startServer(t, tg, nil)
	if a.Addr().String() == b.Addr().String() {
		t.Fatalf("both servers listen on %s", a.Addr())
	}
	for _, s := range []*server.Server{a, b} {
		if code, body := get(t, s.URL()+"/", "hello.localhost"); code != 200 {
			t.Fatalf("GET / on hello at %s = %d %s", s.URL(), code, body)
		}
	}
	ca, cb := login(t, a), login(t, b)
	ctx := context.Background()
	appsA, err := ca.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appsB, err := cb.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(appsA) != 1 || len(appsB) != 1 || appsA[0].ID != appsB[0].ID {
		t.Fatalf("apps on A %+v, on B %+v: want the one seeded app on both", appsA, appsB)
	}
}

// TestChangesReachEveryServerWithinASecond: a script and route created
// through one server's admin API answer on another server on the same
// PostgreSQL database within 1 s (the bound; the periodic resync
// alone takes up to 5 s), and so does a new version of it.
func TestChangesReachEveryServerWithinASecond(t *testing.T) {
	tg := testdb.Postgres(t)
	a := startServer(t, tg, nil)
	b := startServer(t, tg, nil)
	ca := login(t, a)
	ctx := context.Background()
	if code, _ := get(t, b.URL()+"/new", "hello.localhost"); code != 404 {
		t.Fatalf("GET /new on B before the change = %d", code)
	}
	sv, err := ca.CreateScript(ctx, "hello", "greeter", textScript("from A"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.CreateRoute(ctx, sv.ID, "GET", "/new"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool {
		code, body := get(t, b.URL()+"/new", "hello.localhost")
		return code == 200 && body == "from A"
	}, "the route made on A answers on B")
	if _, err := ca.UpdateScript(ctx, sv.ID, textScript("v2"), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() bool {
		_, body := get(t, b.URL()+"/new", "hello.localhost")
		return body == "v2"
	}, "the new version made on A answers on B")
}

// textScript answers its text.
func textScript(text string) string {
	return "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.Text(200, " + strconv.Quote(text) + ")\n}\n"
}
