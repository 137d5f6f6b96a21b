package admin_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
)

var setupLink = regexp.MustCompile(`http://picloud\.test/admin/setup\?token=([A-Za-z0-9_-]+)`)

// printLink runs Bootstrap without variables and returns the setup token
// of the link it printed.
func (s *apiServer) printLink(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	if err := s.api.Bootstrap(context.Background(), admin.Bootstrap{AdminURL: "http://picloud.test", Out: &out}); err != nil {
		t.Fatal(err)
	}
	m := setupLink.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no setup link in %q", out.String())
	}
	if strings.Count(out.String(), m[1]) != 1 {
		t.Errorf("the setup token is printed more than once:\n%s", out.String())
	}
	return m[1]
}

func TestSetupLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startBareAPI(t, tg)
		stale := s.printLink(t)
		s.clock.Advance(time.Hour) // the first link is now expired
		token := s.printLink(t)
		if token == stale {
			t.Fatal("two starts printed the same setup token")
		}
		in := func(token, user, password string) map[string]string {
			return map[string]string{"token": token, "username": user, "password": password}
		}
		const pw = "a long enough password"
		s.runAll(t, []scenario{
			{name: "expired link", method: "POST", url: "/auth/setup", anon: true, body: in(stale, "first", pw), status: 403, want: []string{`"code":"invalid_setup_token"`}},
			{name: "forged token", method: "POST", url: "/auth/setup", anon: true, body: in(flipLast(token), "first", pw), status: 403},
			{name: "truncated token", method: "POST", url: "/auth/setup", anon: true, body: in(token[:20], "first", pw), status: 403},
			{name: "no token", method: "POST", url: "/auth/setup", anon: true, body: in("", "first", pw), status: 403},
			{name: "password too short", method: "POST", url: "/auth/setup", anon: true, body: in(token, "first", "elevenchars"), status: 400, want: []string{`"field":"password"`, "at least 12"}},
			{name: "odd username", method: "POST", url: "/auth/setup", anon: true, body: in(token, "first admin", pw), status: 400, want: []string{`"field":"username"`}},
			{name: "cross-origin setup", method: "POST", url: "/auth/setup", anon: true, body: in(token, "first", pw),
				headers: map[string]string{"Origin": "http://evil.example"}, status: 403, want: []string{`"code":"cross_origin"`}},
			{name: "setup", method: "POST", url: "/auth/setup", anon: true, body: in(token, "First", pw), status: 201,
				want: []string{`"token":"`, `"username":"First"`}},
			{name: "token reused", method: "POST", url: "/auth/setup", anon: true, body: in(token, "second", pw), status: 403},
		})
		// The setup made a session, and the user can log in.
		s.login(t, "first", pw)
		if n, _ := s.db.CountAdminUsers(context.Background()); n != 1 {
			t.Fatalf("%d admin users, want 1", n)
		}
		// With an admin present, a start prints no link.
		var out bytes.Buffer
		if err := s.api.Bootstrap(context.Background(), admin.Bootstrap{AdminURL: "http://picloud.test", Out: &out}); err != nil || out.Len() != 0 {
			t.Fatalf("Bootstrap with an admin present = %v, printed %q", err, out.String())
		}
	})
}

func TestSetupNeedsNoAdmin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startBareAPI(t, tg)
		token := s.printLink(t)
		s.addUser(t, "meanwhile", "created another way")
		s.run(t, scenario{name: "setup after an admin exists", method: "POST", url: "/auth/setup", anon: true,
			body:   map[string]string{"token": token, "username": "late", "password": "a long enough password"},
			status: 403, want: []string{`"code":"already_set_up"`}})
	})
}

func TestBootstrapFromVariables(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startBareAPI(t, tg)
		ctx := context.Background()
		bad := []struct {
			name string
			b    admin.Bootstrap
			want string
		}{
			{"only username", admin.Bootstrap{Username: "root"}, "set both"},
			{"only password", admin.Bootstrap{Password: "a long enough password"}, "set both"},
			{"short password", admin.Bootstrap{Username: "root", Password: "short"}, "at least 12"},
			{"odd username", admin.Bootstrap{Username: "root;drop", Password: "a long enough password"}, admin.EnvAdminUsername},
		}
		for _, tt := range bad {
			err := s.api.Bootstrap(ctx, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: Bootstrap = %v, want an error with %q", tt.name, err, tt.want)
			}
			if strings.Contains(s.logs.String(), "a long enough password") {
				t.Fatalf("%s: the password is in the log", tt.name)
			}
		}
		first := admin.Bootstrap{Username: "Root", Password: "the first password", Out: &bytes.Buffer{}}
		if err := s.api.Bootstrap(ctx, first); err != nil {
			t.Fatal(err)
		}
		s.login(t, "root", "the first password")

		// The variables are inert once an admin exists: a second start with
		// other values changes nothing and says so.
		again := admin.Bootstrap{Username: "root", Password: "an attempted reset", Out: &bytes.Buffer{}}
		if err := s.api.Bootstrap(ctx, again); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.logs.String(), "level=WARN") || !strings.Contains(s.logs.String(), admin.EnvAdminPassword+" ignored") {
			t.Errorf("no warning about the ignored variables in:\n%s", s.logs.String())
		}
		s.run(t, scenario{name: "reset attempt failed", method: "POST", url: "/auth/login", anon: true,
			body: map[string]string{"username": "root", "password": "an attempted reset"}, status: 401})
		s.login(t, "root", "the first password")
		for _, secret := range []string{"the first password", "an attempted reset"} {
			if strings.Contains(s.logs.String(), secret) {
				t.Errorf("the log holds a password:\n%s", s.logs.String())
			}
		}
	})
}
