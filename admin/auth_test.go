package admin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestEveryEndpointNeedsASession: without a valid session every admin
// endpoint but login and setup answers 401, before it looks at its input.
func TestEveryEndpointNeedsASession(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		endpoints := []struct{ method, url string }{
			{"GET", "/apps"}, {"POST", "/apps"}, {"GET", "/apps/hello"},
			{"GET", "/apps/1/scripts"}, {"POST", "/apps/1/scripts"},
			{"GET", "/scripts/1"}, {"PUT", "/scripts/1"}, {"DELETE", "/scripts/1"},
			{"GET", "/scripts/1/versions"}, {"POST", "/scripts/1/rollback"},
			{"GET", "/scripts/1/routes"}, {"POST", "/scripts/1/routes"}, {"DELETE", "/routes/1"},
			{"GET", "/invocations"}, {"GET", "/invocations/x"}, {"GET", "/config"},
			{"POST", "/auth/logout"}, {"GET", "/auth/me"},
			{"GET", "/users"}, {"POST", "/users"}, {"GET", "/users/1"}, {"PATCH", "/users/1"},
			{"DELETE", "/users/1"}, {"PUT", "/users/1/password"},
			{"GET", "/auth/login"}, // login is public only as POST
			{"GET", "/no-such-endpoint"},
		}
		for _, e := range endpoints {
			s.run(t, scenario{
				name: "anonymous " + e.method + " " + e.url, method: e.method, url: e.url, anon: true,
				status: 401, want: []string{`"code":"unauthorized"`, `"request_id":"test-req"`},
				wantHeaders: map[string]string{"WWW-Authenticate": "Bearer"},
			})
		}
		for _, url := range []string{"/auth/login", "/auth/setup"} {
			s.run(t, scenario{name: "public " + url, method: "POST", url: url, anon: true, status: 400, want: []string{`"code":"invalid_json"`}})
		}
	})
}

// TestHostileTokens: every kind of bad token gets 401, and none of them
// is mistaken for another session.
func TestHostileTokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		forged := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		tests := []struct {
			name   string
			header string
		}{
			{"forged", "Bearer " + forged},
			{"truncated", "Bearer " + s.token[:len(s.token)-1]},
			{"extended", "Bearer " + s.token + "A"},
			{"altered", "Bearer " + flipLast(s.token)},
			{"empty bearer", "Bearer "},
			{"bare token", s.token},
			{"basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte(rootName+":"+rootPassword))},
			{"not base64", "Bearer " + strings.Repeat("!", 43)},
			{"sql", "Bearer ' OR '1'='1"},
			{"hash of the token", "Bearer " + strings.Repeat("ab", 32)},
		}
		for _, tt := range tests {
			s.run(t, scenario{name: tt.name, method: "GET", url: "/auth/me", anon: true,
				headers: map[string]string{"Authorization": tt.header}, status: 401, want: []string{`"code":"unauthorized"`}})
		}
		// An invalid bearer token is not rescued by a valid cookie.
		s.run(t, scenario{name: "bad bearer, good cookie", method: "GET", url: "/auth/me", token: s.token, cookie: true,
			headers: map[string]string{"Authorization": "Bearer " + forged}, status: 401})
		s.run(t, scenario{name: "scheme is case-insensitive", method: "GET", url: "/auth/me", anon: true,
			headers: map[string]string{"Authorization": "bearer " + s.token}, status: 200, want: []string{`"username":"root"`}})
	})
}

func flipLast(token string) string {
	last := token[len(token)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return token[:len(token)-1] + string(repl)
}

// loginAnswer is the JSON of a login.
type loginAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
	} `json:"user"`
}

func TestLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		res, body := s.raw(t, "POST", "/auth/login", `{"username":"ROOT","password":"`+rootPassword+`"}`, nil)
		if res.StatusCode != 200 {
			t.Fatalf("login: %d %s", res.StatusCode, body)
		}
		var got loginAnswer
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Token) < 43 || got.User.Username != rootName || got.User.Role != "admin" ||
			!got.ExpiresAt.Equal(s.clock.Now().Add(24*time.Hour)) {
			t.Fatalf("login answer %s", body)
		}
		if strings.Contains(string(body), "password") || strings.Contains(string(body), "argon2") {
			t.Fatalf("login answer shows the password hash: %s", body)
		}
		cookie := res.Header.Get("Set-Cookie")
		for _, want := range []string{admin.SessionCookie + "=" + got.Token, "HttpOnly", "SameSite=Strict", "path=/;"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("Set-Cookie %q lacks %q", cookie, want)
			}
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		if got.Token == s.token {
			t.Fatal("two logins got the same token")
		}

		// Wrong password, unknown user, odd names: one answer for all.
		var first string
		for _, in := range []map[string]string{
			{"username": rootName, "password": "wrong password!"},
			{"username": "nobody", "password": rootPassword},
			{"username": "root ", "password": rootPassword},
			{"username": "rööt", "password": rootPassword},
			{"username": "", "password": ""},
			{"username": strings.Repeat("a", 5000), "password": strings.Repeat("b", 5000)},
		} {
			s.clock.Advance(time.Hour) // stay clear of the rate limits
			b := s.run(t, scenario{name: "bad login " + in["username"], method: "POST", url: "/auth/login", anon: true,
				body: in, status: 401, want: []string{`"code":"unauthorized"`, "invalid username or password"}})
			if first == "" {
				first = string(b)
			} else if string(b) != first {
				t.Errorf("bad logins answer differently:\n%s\n%s", first, b)
			}
		}
		s.runAll(t, []scenario{
			{name: "hostile user agent", method: "POST", url: "/auth/login", anon: true,
				headers: map[string]string{"User-Agent": "\xff\xfe bad \x80" + strings.Repeat("é", 300)},
				body:    map[string]string{"username": rootName, "password": rootPassword}, status: 200},
			{name: "unknown field", method: "POST", url: "/auth/login", anon: true, body: `{"username":"root","password":"x","admin":true}`, status: 400},
			{name: "not JSON", method: "POST", url: "/auth/login", anon: true, body: `username=root`, status: 400},
			{name: "cross-origin login", method: "POST", url: "/auth/login", anon: true,
				headers: map[string]string{"Origin": "https://evil.example"},
				body:    map[string]string{"username": rootName, "password": rootPassword}, status: 403},
		})
	})
}

func TestSessionLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		t0 := s.clock.Now()
		me := func(name string, token string, status int, want ...string) {
			t.Helper()
			s.run(t, scenario{name: name, method: "GET", url: "/auth/me", token: token, status: status, want: want})
		}
		me("fresh", s.token, 200, `"username":"root"`, `"expires_at":"`+t0.Add(24*time.Hour).Format(time.RFC3339)+`"`)

		// Uses within a minute are not written; later ones slide the expiry.
		s.clock.Advance(30 * time.Second)
		me("within a minute", s.token, 200, `"expires_at":"`+t0.Add(24*time.Hour).Format(time.RFC3339)+`"`)
		s.clock.Advance(23 * time.Hour)
		me("after 23h", s.token, 200, `"expires_at":"`+s.clock.Now().Add(24*time.Hour).Format(time.RFC3339)+`"`)
		s.clock.Advance(23 * time.Hour)
		me("after 46h, slid", s.token, 200)
		s.clock.Advance(24 * time.Hour)
		me("24h unused: expired", s.token, 401, "session expired")

		// Expired sessions are purged.
		n, err := s.db.PurgeExpiredSessions(context.Background(), s.clock.Now())
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want the expired session", n, err)
		}

		// Logout revokes the token it is sent with, and only that one.
		a, b := s.login(t, rootName, rootPassword), s.login(t, rootName, rootPassword)
		s.run(t, scenario{name: "logout", method: "POST", url: "/auth/logout", token: a, status: 204,
			wantHeaders: map[string]string{"Set-Cookie": admin.SessionCookie + "=;"}})
		me("logged out", a, 401, "invalid session token")
		s.run(t, scenario{name: "logout again", method: "POST", url: "/auth/logout", token: a, status: 401})
		me("other session", b, 200)
	})
}

func TestCookieSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		origin := "http://" + s.host
		app := map[string]string{"slug": "c1"}
		s.runAll(t, []scenario{
			{name: "cookie GET", method: "GET", url: "/auth/me", cookie: true, status: 200, want: []string{`"username":"root"`}},
			{name: "cookie POST without Origin", method: "POST", url: "/apps", cookie: true, body: app, status: 403, want: []string{`"code":"cross_origin"`}},
			{name: "cookie POST from another origin", method: "POST", url: "/apps", cookie: true, body: app,
				headers: map[string]string{"Origin": "http://evil.example"}, status: 403},
			{name: "cookie POST from a look-alike origin", method: "POST", url: "/apps", cookie: true, body: app,
				headers: map[string]string{"Origin": "http://" + s.host + ".evil.example"}, status: 403},
			{name: "cookie POST with origin null", method: "POST", url: "/apps", cookie: true, body: app,
				headers: map[string]string{"Origin": "null"}, status: 403},
			{name: "cookie POST with a foreign Referer", method: "POST", url: "/apps", cookie: true, body: app,
				headers: map[string]string{"Referer": "http://evil.example/" + s.host}, status: 403},
			{name: "cookie logout from another origin", method: "POST", url: "/auth/logout", cookie: true,
				headers: map[string]string{"Origin": "http://evil.example"}, status: 403},
			{name: "cookie POST same origin", method: "POST", url: "/apps", cookie: true, body: app,
				headers: map[string]string{"Origin": origin}, status: 201},
			{name: "cookie POST same-origin Referer", method: "POST", url: "/apps", cookie: true, body: map[string]string{"slug": "c2"},
				headers: map[string]string{"Referer": origin + "/admin/apps"}, status: 201},
			{name: "bearer POST needs no Origin", method: "POST", url: "/apps", body: map[string]string{"slug": "c3"}, status: 201},
		})
	})
}

// raw sends a request with a body and headers and no token, returning
// the response and its body.
func (s *apiServer) raw(t *testing.T, method, url, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	var res *http.Response
	b := s.run(t, scenario{name: method + " " + url, method: method, url: url, body: body, anon: true, headers: headers,
		status: -1, response: &res})
	return res, b
}

// TestJanitorPurgesExpiredSessions: the janitor deletes what expired and
// keeps what did not.
func TestJanitorPurgesExpiredSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		old := s.token
		s.clock.Advance(23 * time.Hour)
		fresh := s.login(t, rootName, rootPassword)
		s.clock.Advance(2 * time.Hour) // old is past its 24h, fresh is not

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.api.RunJanitor(ctx, time.Hour)
		}()
		countSessions := func() int64 {
			n, err := s.db.Bun().NewSelect().Table("admin_sessions").Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		deadline := time.Now().Add(10 * time.Second)
		for countSessions() != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d sessions after the janitor ran, want 1", countSessions())
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		s.run(t, scenario{name: "expired and purged", method: "GET", url: "/auth/me", token: old, status: 401})
		s.run(t, scenario{name: "fresh survives", method: "GET", url: "/auth/me", token: fresh, status: 200})
	})
}

// TestLoginUpgradesWeakHash: a hash made with weaker parameters than the
// server's is replaced at the next successful login.
func TestLoginUpgradesWeakHash(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		weak := admin.Argon2Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		u := &models.AdminUser{Username: "old", PasswordHash: admin.HashPassword(weak, "an old long password")}
		if err := s.db.CreateAdminUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		s.login(t, "old", "an old long password")
		got, err := s.db.AdminUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("hash after login = %q, want the server's parameters", got.PasswordHash)
		}
		s.login(t, "old", "an old long password")
	})
}
