package admin_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/internal/testdb"
)

// TestCookieTossing: a request may carry several session cookies when
// another host of the site tossed one in (Domain=, a longer Path). A
// bogus one is passed over, whatever its place; valid sessions of two
// users are refused rather than picking one; the UI is never put on a
// session the admin did not log in to.
func TestCookieTossing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.addUser(t, "mallory", "mallory's long password")
		mallory := s.login(t, "mallory", "mallory's long password")
		again := s.login(t, rootName, rootPassword)
		unknown := strings.Repeat("A", 43)
		cookies := func(values ...string) map[string]string {
			var parts []string
			for _, v := range values {
				parts = append(parts, admin.SessionCookie+"="+v)
			}
			return map[string]string{"Cookie": strings.Join(parts, "; ")}
		}
		me := func(name string, headers map[string]string, status int, want ...string) scenario {
			return scenario{name: name, method: "GET", url: "/auth/me", anon: true, headers: headers, status: status, want: want}
		}
		s.runAll(t, []scenario{
			me("tossed junk first", cookies("evil", s.token), 200, `"username":"root"`),
			me("tossed unknown token first", cookies(unknown, s.token), 200, `"username":"root"`),
			me("tossed junk after", cookies(s.token, "evil"), 200, `"username":"root"`),
			me("tossed empty first", map[string]string{"Cookie": admin.SessionCookie + "=; " + admin.SessionCookie + "=" + s.token}, 200, `"username":"root"`),
			me("two sessions of one user", cookies(s.token, again), 200, `"username":"root"`),
			me("another user's session first", cookies(mallory, s.token), 401, "more than one user"),
			me("another user's session after", cookies(s.token, mallory), 401, "more than one user"),
			me("only junk", cookies("evil", unknown), 401, "invalid session token"),
			me("too many", cookies("a", "b", "c", "d", s.token), 401, "too many"),
			me("other spelling is not the cookie", map[string]string{"Cookie": "PICLOUD_SESSION=" + s.token}, 401),
			me("prefixed name over plain HTTP", map[string]string{"Cookie": admin.SecureSessionCookie + "=" + s.token}, 401),
		})
	})
}

// TestSecureSessionCookie: over HTTPS the session cookie has the __Host-
// prefix and is Secure, and only that name is read: an unprefixed cookie
// of the same name, which a sibling host can set, is not.
func TestSecureSessionCookie(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg, func(o *admin.Options) { o.SecureCookie = true })
		res, body := s.raw(t, "POST", "/auth/login", `{"username":"root","password":"`+rootPassword+`"}`, nil)
		if res.StatusCode != 200 {
			t.Fatalf("login: %d %s", res.StatusCode, body)
		}
		c := res.Header.Get("Set-Cookie")
		for _, want := range []string{admin.SecureSessionCookie + "=", "path=/;", "secure", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(c, want) {
				t.Errorf("Set-Cookie %q lacks %q", c, want)
			}
		}
		if strings.Contains(strings.ToLower(c), "domain") {
			t.Errorf("Set-Cookie %q has a Domain", c)
		}
		s.runAll(t, []scenario{
			{name: "__Host- cookie", method: "GET", url: "/auth/me", anon: true, status: 200,
				headers: map[string]string{"Cookie": admin.SecureSessionCookie + "=" + s.token}},
			{name: "unprefixed cookie", method: "GET", url: "/auth/me", anon: true, status: 401,
				headers: map[string]string{"Cookie": admin.SessionCookie + "=" + s.token}},
		})
	})
}

// TestCookieRequestsFromOtherOrigins: a request authenticated by cookie
// that the browser says another origin made (a script's page on an app
// host is same-site with the admin host) is refused, even a GET; login
// too. API clients with a bearer token are not browsers and pass.
func TestCookieRequestsFromOtherOrigins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		origin := "http://" + s.host
		site := func(v string) map[string]string { return map[string]string{"Sec-Fetch-Site": v} }
		login := `{"username":"root","password":"` + rootPassword + `"}`
		s.runAll(t, []scenario{
			{name: "cookie GET, same-origin", method: "GET", url: "/auth/me", cookie: true, headers: site("same-origin"), status: 200},
			{name: "cookie GET, typed in", method: "GET", url: "/auth/me", cookie: true, headers: site("none"), status: 200},
			{name: "cookie GET, same-site", method: "GET", url: "/auth/me", cookie: true, headers: site("same-site"), status: 403, want: []string{`"code":"cross_origin"`}},
			{name: "cookie GET, cross-site", method: "GET", url: "/users", cookie: true, headers: site("cross-site"), status: 403},
			{name: "cookie POST, same-site with a matching Origin", method: "POST", url: "/users", cookie: true,
				body:    map[string]string{"username": "evil", "password": "long enough password"},
				headers: map[string]string{"Sec-Fetch-Site": "same-site", "Origin": origin}, status: 403},
			{name: "no user was made", method: "GET", url: "/users", status: 200, notWant: []string{"evil"}},
			{name: "bearer GET, cross-site", method: "GET", url: "/auth/me", headers: site("cross-site"), status: 200},
			{name: "login, same-site", method: "POST", url: "/auth/login", anon: true, body: login, headers: site("same-site"), status: 403},
			{name: "login, same-origin", method: "POST", url: "/auth/login", anon: true, body: login,
				headers: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": origin}, status: 200},
		})
	})
}

// TestRequireExecute: with the session cookie a script runs only as a
// fetch of the UI, never as a navigation or any load whose answer would
// become a document or a script of the admin origin.
func TestRequireExecute(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		base := serveGuard(t, s.api.RequireExecute)
		cookie := admin.SessionCookie + "=" + s.token
		tests := []struct {
			name    string
			headers map[string]string
			status  int
			want    string
		}{
			{"fetch of the UI", map[string]string{"Cookie": cookie, "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin"}, 200, "ran"},
			{"navigation", map[string]string{"Cookie": cookie, "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"}, 403, "not_a_fetch"},
			{"frame", map[string]string{"Cookie": cookie, "Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin"}, 403, "not_a_fetch"},
			{"script load", map[string]string{"Cookie": cookie, "Sec-Fetch-Dest": "script", "Sec-Fetch-Site": "same-origin"}, 403, "not_a_fetch"},
			{"not a browser", map[string]string{"Cookie": cookie}, 403, "Bearer"},
			{"fetch from an app host", map[string]string{"Cookie": cookie, "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-site"}, 403, "cross_origin"},
			{"bearer", map[string]string{"Authorization": "Bearer " + s.token}, 200, "ran"},
			{"bearer, navigation", map[string]string{"Authorization": "Bearer " + s.token, "Sec-Fetch-Dest": "document"}, 200, "ran"},
			{"nothing", nil, 401, "unauthorized"},
			{"navigation behind an empty cookie", map[string]string{"Cookie": admin.SessionCookie + "=; " + cookie, "Sec-Fetch-Dest": "document"}, 403, "not_a_fetch"},
		}
		for _, tt := range tests {
			status, body := getWith(t, base, tt.headers)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s: %d %s; want %d containing %q", tt.name, status, body, tt.status, tt.want)
			}
		}
	})
}

// serveGuard serves guard on a listener, answering "ran" past it.
func serveGuard(t *testing.T, guard func(*fasthttp.RequestCtx) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(apierror.RequestIDKey, "test-req")
		if guard(ctx) {
			ctx.SetBodyString("ran")
		}
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func getWith(t *testing.T, base string, headers map[string]string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/execute/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// claimScenario and appScenario build the scenarios of the tests below.
func claimScenario(pattern string, status int, want ...string) scenario {
	return scenario{name: "claim " + pattern, method: "POST", url: "/apps/shop/domains",
		body: map[string]string{"pattern": pattern}, status: status, want: want}
}

func appScenario(slug string, status int, want ...string) scenario {
	return scenario{name: "app " + slug, method: "POST", url: "/apps", body: map[string]string{"slug": slug}, status: status, want: want}
}

// TestAdminSlugReserved: when the admin host is {label}.{base_domain}
// (admin.localhost by default), no app may take the slug label.
func TestAdminSlugReserved(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg) // base_domain localhost, admin host admin.localhost
		s.runAll(t, []scenario{
			appScenario("admin", 400, `"field":"slug"`, "reserved", "admin.localhost"),
			appScenario("shop", 201),
			{name: "rename to admin", method: "PATCH", url: "/apps/shop", body: map[string]string{"slug": "admin"}, status: 400, want: []string{"reserved"}},
			claimScenario("admin.localhost", 400, "reserved"),
		})
	})
}

// TestNoClaimOnTheAdminHost: no domain claim may cover the admin host.
func TestNoClaimOnTheAdminHost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg, func(o *admin.Options) { o.AdminHost = "pi.example.com" })
		s.runAll(t, []scenario{
			appScenario("shop", 201),
			appScenario("admin", 201),
			claimScenario("pi.example.com", 400, `"field":"pattern"`, "the admin host"),
			claimScenario("PI.Example.com.", 400, "the admin host"),
			claimScenario("*.example.com", 400, "the admin host"),
			claimScenario("{name}.example.com", 400, "the admin host"),
			claimScenario("api.example.com", 201),
			claimScenario("pi.example.com.evil.test", 201),
		})
	})
}
