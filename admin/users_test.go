package admin_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

func TestUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		user := func(name, password string) map[string]string {
			return map[string]string{"username": name, "password": password}
		}
		const pw = "bob's long password"
		bobID := s.create(t, scenario{name: "create bob", method: "POST", url: "/users", body: user("Bob", pw), status: 201,
			want: []string{`"username":"Bob"`, `"role":"admin"`, `"disabled":false`}, notWant: []string{"password", "argon2"}})
		odd := []string{"", " bob", "bob smith", "bob\n", "bob\x00", "böb", "bob/../x", "'; drop table admin_users; --",
			"-bob", ".bob", "bob<script>", "bob%20", strings.Repeat("b", 65), "bob\u200b", "ｂｏｂ"}
		for _, name := range odd {
			s.run(t, scenario{name: fmt.Sprintf("odd username %q", name), method: "POST", url: "/users", body: user(name, pw),
				status: 400, want: []string{`"field":"username"`}})
		}
		s.runAll(t, []scenario{
			{name: "taken in another case", method: "POST", url: "/users", body: user("BOB", pw), status: 409},
			{name: "password too short", method: "POST", url: "/users", body: user("carol", "11 chars..."), status: 400, want: []string{`"field":"password"`, "at least 12"}},
			{name: "12 multibyte characters", method: "POST", url: "/users", body: user("dave", "ééééééééééé"), status: 400},
			{name: "password too long", method: "POST", url: "/users", body: user("erin", strings.Repeat("x", 1025)), status: 400},
			{name: "unknown role", method: "POST", url: "/users", body: map[string]string{"username": "frank", "password": pw, "role": "owner"}, status: 400, want: []string{`"field":"role"`}},
			{name: "list", method: "GET", url: "/users", status: 200, want: []string{`"username":"root"`, `"username":"Bob"`}, notWant: []string{"password", "argon2"}},
			{name: "get", method: "GET", url: fmt.Sprintf("/users/%d", bobID), status: 200, want: []string{`"username":"Bob"`}},
			{name: "get missing", method: "GET", url: "/users/999", status: 404},
			{name: "get bad id", method: "GET", url: "/users/x", status: 400},
		})

		// Disabling bob ends his sessions at once; enabling him does not
		// bring them back.
		bob := s.login(t, "bob", pw)
		s.run(t, scenario{name: "bob works", method: "GET", url: "/apps", token: bob, status: 200})
		s.runAll(t, []scenario{
			{name: "patch without disabled", method: "PATCH", url: fmt.Sprintf("/users/%d", bobID), body: `{}`, status: 400},
			{name: "disable bob", method: "PATCH", url: fmt.Sprintf("/users/%d", bobID), body: `{"disabled":true}`, status: 200, want: []string{`"disabled":true`}},
			{name: "bob's token", method: "GET", url: "/apps", token: bob, status: 401},
			{name: "disabled bob cannot log in", method: "POST", url: "/auth/login", anon: true, body: user("bob", pw), status: 401, want: []string{"invalid username or password"}},
			{name: "disable the last active admin", method: "PATCH", url: fmt.Sprintf("/users/%d", s.root.ID), body: `{"disabled":true}`, status: 409, want: []string{"last active admin"}},
			{name: "delete the last active admin", method: "DELETE", url: fmt.Sprintf("/users/%d", s.root.ID), status: 409},
			{name: "enable bob", method: "PATCH", url: fmt.Sprintf("/users/%d", bobID), body: `{"disabled":false}`, status: 200, want: []string{`"disabled":false`}},
			{name: "bob's old token stays dead", method: "GET", url: "/apps", token: bob, status: 401},
		})

		// A session of a user disabled behind the API's back is refused too.
		bob = s.login(t, "bob", pw)
		if _, err := s.db.Bun().NewUpdate().Table("admin_users").Set("disabled = ?", true).Where("id = ?", bobID).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.run(t, scenario{name: "token of a disabled user", method: "GET", url: "/auth/me", token: bob, status: 401, want: []string{"disabled"}})

		// A role that is not yet known grants nothing.
		carol := s.addUser(t, "carol", "carol's long password")
		carolToken := s.login(t, "carol", "carol's long password")
		if _, err := s.db.Bun().NewUpdate().Table("admin_users").Set("role = ?", "viewer").Where("id = ?", carol.ID).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.run(t, scenario{name: "unknown role", method: "GET", url: "/apps", token: carolToken, status: 403, want: []string{`role \"viewer\"`}})

		s.runAll(t, []scenario{
			{name: "delete bob", method: "DELETE", url: fmt.Sprintf("/users/%d", bobID), status: 204},
			{name: "delete bob again", method: "DELETE", url: fmt.Sprintf("/users/%d", bobID), status: 404},
			{name: "deleted bob's token", method: "GET", url: "/auth/me", token: bob, status: 401},
		})
	})
}

func TestChangePassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		carol := s.addUser(t, "carol", "carol's long password")
		other := s.login(t, rootName, rootPassword)
		carolToken := s.login(t, "carol", "carol's long password")
		own := fmt.Sprintf("/users/%d/password", s.root.ID)
		s.runAll(t, []scenario{
			{name: "own without current", method: "PUT", url: own, body: map[string]string{"password": "a brand new password"}, status: 400, want: []string{`"field":"current_password"`}},
			{name: "own with wrong current", method: "PUT", url: own, body: map[string]string{"current_password": "wrong password!", "password": "a brand new password"}, status: 403, want: []string{`"code":"wrong_password"`}},
			{name: "new too short", method: "PUT", url: own, body: map[string]string{"current_password": rootPassword, "password": "short"}, status: 400},
			{name: "missing user", method: "PUT", url: "/users/999/password", body: map[string]string{"password": "a brand new password"}, status: 404},
			{name: "own", method: "PUT", url: own, body: map[string]string{"current_password": rootPassword, "password": "a brand new password"}, status: 204},
			{name: "this session lives on", method: "GET", url: "/auth/me", status: 200},
			{name: "the other session is revoked", method: "GET", url: "/auth/me", token: other, status: 401},
			{name: "old password", method: "POST", url: "/auth/login", anon: true, body: map[string]string{"username": rootName, "password": rootPassword}, status: 401},
			{name: "new password", method: "POST", url: "/auth/login", anon: true, body: map[string]string{"username": rootName, "password": "a brand new password"}, status: 200},
			// Another user's password needs no current one, and ends all
			// of that user's sessions.
			{name: "carol's", method: "PUT", url: fmt.Sprintf("/users/%d/password", carol.ID), body: map[string]string{"password": "carol's new password"}, status: 204},
			{name: "carol's session is revoked", method: "GET", url: "/auth/me", token: carolToken, status: 401},
			{name: "carol logs in anew", method: "POST", url: "/auth/login", anon: true, body: map[string]string{"username": "carol", "password": "carol's new password"}, status: 200},
		})
		for _, secret := range []string{rootPassword, "a brand new password", "carol's new password", s.token} {
			if strings.Contains(s.logs.String(), secret) {
				t.Errorf("the log holds a secret %q:\n%s", secret, s.logs.String())
			}
		}
	})
}
