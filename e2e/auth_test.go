package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// testClock is the offset file of the e2e build's clock
// (PICLOUD_TEST_CLOCK_FILE): writing a duration to it moves the server's
// clock of sessions and rate limits.
type testClock struct {
	t    *testing.T
	path string
}

func newTestClock(t *testing.T) *testClock {
	c := &testClock{t: t, path: filepath.Join(t.TempDir(), "clock-offset")}
	c.set(0)
	return c
}

func (c *testClock) set(d time.Duration) {
	c.t.Helper()
	if err := os.WriteFile(c.path, []byte(d.String()), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testClock) env() string { return "PICLOUD_TEST_CLOCK_FILE=" + c.path }

// expiresAt reads expires_at from a login or /auth/me answer.
func expiresAt(t *testing.T, r response) time.Time {
	t.Helper()
	s, _ := r.json(t)["expires_at"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("expires_at %q: %v", s, err)
	}
	return at
}

// near reports whether a is within a minute of b: the server's clock runs
// on while the test reads it.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Minute && d < time.Minute
}

// TestAdminAuth walks the admin auth of the real binary: bootstrap from
// the environment, login, bearer and cookie, sliding expiry on a moved
// clock, logout, rate limiting, inert bootstrap on the next start, and
// that no secret is stored or logged in clear.
func TestAdminAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		clock := newTestClock(t)
		env := []string{"PICLOUD_DATA_DIR=" + tg.DataDir, "PICLOUD_DATABASE_URL=" + tg.URL, clock.env()}
		s := startServer(t, append(adminEnv(), env...)...)
		eventually(t, 10*time.Second, "the bootstrap log line", func() bool {
			return strings.Contains(s.logs.String(), "created the first admin user")
		})
		if strings.Contains(s.logs.String(), "setup?token=") {
			t.Fatal("a setup link was printed although the variables created the admin")
		}

		// Nothing admin answers without a session.
		expect(t, "anonymous apps", s.do("GET", adminAPI+"/apps", nil), 401, `"code":"unauthorized"`)
		expect(t, "anonymous execute", s.do("GET", "/api/v1/execute/1", nil), 401, `"code":"unauthorized"`)
		expect(t, "public data plane", s.do("GET", "/", nil), 200, `{"hello":"world"}`)

		// Login: a token, also as an HttpOnly SameSite=Strict cookie.
		start := time.Now()
		r := s.do("POST", adminAPI+"/auth/login", map[string]string{"username": "ADMIN", "password": adminPassword})
		expect(t, "login", r, 200, `"token":"`, `"username":"admin"`)
		token := r.json(t)["token"].(string)
		if !near(expiresAt(t, r), start.Add(24*time.Hour)) {
			t.Fatalf("login expires_at %s, want about 24h from now", expiresAt(t, r))
		}
		cookie := r.Header.Get("Set-Cookie")
		for _, want := range []string{"picloud_session=" + token, "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(cookie, want) {
				t.Fatalf("Set-Cookie %q lacks %q", cookie, want)
			}
		}
		tokens := []string{token}

		// Bearer and cookie.
		u := s.as(token)
		expect(t, "bearer", u.do("GET", adminAPI+"/apps", nil), 200, `"slug":"hello"`)
		expect(t, "bearer execute", u.do("GET", "/api/v1/execute/1", nil), 200, `{"hello":"world"}`)
		c := "picloud_session=" + token
		expect(t, "cookie GET", s.do("GET", adminAPI+"/auth/me", nil, "Cookie", c), 200, `"username":"admin"`)
		expect(t, "cookie POST, no Origin", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "x1"}, "Cookie", c), 403, `"code":"cross_origin"`)
		expect(t, "cookie POST, foreign Origin", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "x1"},
			"Cookie", c, "Origin", "http://evil.example"), 403)
		expect(t, "cookie POST, same Origin", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "x1"},
			"Cookie", c, "Origin", s.adminOrigin()), 201)

		// Sliding expiry: each use moves the expiry out by 24h.
		clock.set(23 * time.Hour)
		r = u.do("GET", adminAPI+"/auth/me", nil)
		expect(t, "after 23h", r, 200)
		if !near(expiresAt(t, r), start.Add(47*time.Hour)) {
			t.Fatalf("after 23h expires_at %s, want about 47h from the start", expiresAt(t, r))
		}
		clock.set(46 * time.Hour)
		expect(t, "after 46h, slid", u.do("GET", adminAPI+"/auth/me", nil), 200)
		clock.set(71 * time.Hour)
		expect(t, "25h unused", u.do("GET", adminAPI+"/auth/me", nil), 401, "expired")

		// Logout revokes the token.
		token = s.login(adminName, adminPassword)
		tokens = append(tokens, token)
		expect(t, "logout", s.as(token).do("POST", adminAPI+"/auth/logout", nil), 204)
		expect(t, "after logout", s.as(token).do("GET", adminAPI+"/auth/me", nil), 401)

		// Five failed logins lock the username out at this address, even
		// for the right password, until the clock moves on.
		wrong := map[string]string{"username": adminName, "password": "not the password"}
		for i := range 5 {
			expect(t, fmt.Sprintf("wrong password %d", i+1), s.do("POST", adminAPI+"/auth/login", wrong), 401, "invalid username or password")
		}
		r = s.do("POST", adminAPI+"/auth/login", map[string]string{"username": adminName, "password": adminPassword})
		expect(t, "locked out", r, 429, `"code":"too_many_attempts"`)
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		expect(t, "unknown user, same answer", s.do("POST", adminAPI+"/auth/login",
			map[string]string{"username": "nobody", "password": "not the password"}), 401, "invalid username or password")
		clock.set(71*time.Hour + 4*time.Minute)
		tokens = append(tokens, s.login(adminName, adminPassword))

		// The next start ignores the variables, with a warning: they
		// cannot reset the password.
		s.stop()
		s = startServer(t, append([]string{"PICLOUD_ADMIN_USERNAME=" + adminName, "PICLOUD_ADMIN_PASSWORD=an attempted reset"}, env...)...)
		eventually(t, 10*time.Second, "the warning about ignored variables", func() bool {
			return strings.Contains(s.logs.String(), "level=WARN") && strings.Contains(s.logs.String(), "PICLOUD_ADMIN_PASSWORD ignored")
		})
		expect(t, "reset attempt", s.do("POST", adminAPI+"/auth/login",
			map[string]string{"username": adminName, "password": "an attempted reset"}), 401)
		tokens = append(tokens, s.login(adminName, adminPassword))
		s.stop()

		secrets := append([]string{adminPassword, "an attempted reset"}, tokens...)
		assertNoSecrets(t, "the log", s.logs.String(), secrets)
		assertNoSecrets(t, "the database", dumpAuthTables(t, tg), secrets)
		if dump := dumpAuthTables(t, tg); !strings.Contains(dump, "$argon2id$v=19$m=65536,t=3,p=2$") {
			t.Fatalf("the stored password is not an Argon2id hash with the default parameters:\n%s", dump)
		}
	})
}

// TestSetupLinkFlow: a server with no admin and no bootstrap variables
// prints a one-time setup link; the link creates the first admin once.
func TestSetupLinkFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		env := []string{"PICLOUD_DATA_DIR=" + tg.DataDir, "PICLOUD_DATABASE_URL=" + tg.URL}
		s := startServer(t, env...)
		first := setupToken(t, s)
		s.stop()
		s = startServer(t, env...)
		token := setupToken(t, s)
		if token == first {
			t.Fatal("a restart printed the same setup token")
		}
		expect(t, "setup page", s.do("GET", "/admin/setup?token="+token, nil), 200)
		expect(t, "anonymous apps", s.do("GET", adminAPI+"/apps", nil), 401)

		setup := func(token, username, password string) response {
			return s.do("POST", adminAPI+"/auth/setup", map[string]string{"token": token, "username": username, "password": password})
		}
		const pw = "first admin password"
		expect(t, "forged token", setup(strings.Repeat("A", len(token)), "first", pw), 403, `"code":"invalid_setup_token"`)
		expect(t, "short password", setup(token, "first", "too short"), 400, `"field":"password"`)
		expect(t, "odd username", setup(token, "first<admin>", pw), 400, `"field":"username"`)
		r := setup(token, "first", pw)
		expect(t, "setup", r, 201, `"token":"`, `"username":"first"`)
		session := r.json(t)["token"].(string)
		expect(t, "setup token reused", setup(token, "second", pw), 403, `"code":"invalid_setup_token"`)
		expect(t, "earlier link, spent with it", setup(first, "second", pw), 403)
		expect(t, "session of the setup", s.as(session).do("GET", adminAPI+"/auth/me", nil), 200, `"username":"first"`)
		login := s.login("first", pw)

		// Once an admin exists, no link is printed.
		s.stop()
		s = startServer(t, env...)
		eventually(t, 10*time.Second, "the up line", func() bool { return strings.Contains(s.logs.String(), "is up") })
		s.stop()
		if strings.Contains(s.logs.String(), "setup?token=") {
			t.Fatalf("a setup link was printed with an admin present:\n%s", s.logs.String())
		}
		assertNoSecrets(t, "the database", dumpAuthTables(t, tg), []string{token, first, session, login, pw})
	})
}

var setupLinkRE = regexp.MustCompile(`/admin/setup\?token=([A-Za-z0-9_-]+)`)

// setupToken waits for the setup link in s's output and returns its
// token, checking that it is written exactly once.
func setupToken(t *testing.T, s *server) string {
	t.Helper()
	var m []string
	eventually(t, 10*time.Second, "the setup link", func() bool {
		m = setupLinkRE.FindStringSubmatch(s.logs.String())
		return m != nil
	})
	if n := strings.Count(s.logs.String(), m[1]); n != 1 {
		t.Fatalf("the setup token appears %d times in the output, want once:\n%s", n, s.logs.String())
	}
	return m[1]
}

func assertNoSecrets(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("%s holds a secret in clear: %q", where, secret)
		}
	}
}

// dumpAuthTables returns everything the database holds: on SQLite the
// raw bytes of its files (WAL included), on PostgreSQL every row of the
// auth tables as text.
func dumpAuthTables(t *testing.T, tg testdb.Target) string {
	t.Helper()
	if tg.Name == testdb.SQLiteName {
		var b strings.Builder
		files, _ := filepath.Glob(filepath.Join(tg.DataDir, "picloud.db*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	ctx := context.Background()
	db, err := models.Open(ctx, tg.URL, tg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, table := range []string{"admin_users", "admin_sessions", "admin_setup_tokens", "invocations"} {
		var rows []string
		if err := db.Bun().NewRaw("SELECT t::text FROM "+table+" t").Scan(ctx, &rows); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		b.WriteString(strings.Join(rows, "\n"))
	}
	return b.String()
}

// TestBadBootstrapStopsStart: bootstrap variables that cannot make an
// admin stop the server before it serves, and say why without echoing
// the password.
func TestBadBootstrapStopsStart(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"short password", []string{"PICLOUD_ADMIN_USERNAME=admin", "PICLOUD_ADMIN_PASSWORD=elevenchars"}, "at least 12 characters"},
		{"odd username", []string{"PICLOUD_ADMIN_USERNAME=ad min", "PICLOUD_ADMIN_PASSWORD=long enough password"}, "PICLOUD_ADMIN_USERNAME must be"},
		{"only the username", []string{"PICLOUD_ADMIN_USERNAME=admin"}, "set both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, picloudBin, "serve")
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PICLOUD_LISTEN=127.0.0.1:0", "PICLOUD_DATA_DIR=" + t.TempDir()}, tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("picloud = %v, want exit 1:\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) || strings.Contains(string(out), "msg=listening") {
				t.Fatalf("output lacks %q or shows a listening server:\n%s", tt.want, out)
			}
			if strings.Contains(string(out), "elevenchars") || strings.Contains(string(out), "long enough password") {
				t.Fatalf("the password is in the output:\n%s", out)
			}
		})
	}
}
