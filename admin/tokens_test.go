package admin_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
)

// createToken makes an API token of the logged-in user and returns its
// id and secret.
func (s *apiServer) createToken(t *testing.T, body string) (int64, string) {
	t.Helper()
	var v struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	out := s.run(t, scenario{name: "create token " + body, method: "POST", url: "/tokens", body: body, status: 201,
		wantHeaders: map[string]string{"Cache-Control": "no-store"}})
	if err := json.Unmarshal(out, &v); err != nil || v.ID == 0 || !strings.HasPrefix(v.Token, admin.APITokenPrefix) {
		t.Fatalf("create token: %s", out)
	}
	return v.ID, v.Token
}

func TestAPITokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		ciID, ci := s.createToken(t, `{"name":"ci"}`)
		_, short := s.createToken(t, `{"name":"short","expires_in":"1h"}`)
		_, days := s.createToken(t, `{"name":"days","expires_in":"90d"}`)
		bob := s.addUser(t, "bob", "bob's long password")
		bobSession := s.login(t, "bob", "bob's long password")

		s.runAll(t, []scenario{
			// Made once, shown once.
			{name: "duplicate name", method: "POST", url: "/tokens", body: `{"name":"ci"}`, status: 409, want: []string{`already have an API token named \"ci\"`}},
			{name: "no name", method: "POST", url: "/tokens", body: `{"expires_in":"1h"}`, status: 400, want: []string{`"field":"name"`}},
			{name: "control character", method: "POST", url: "/tokens", body: `{"name":"a\u0007"}`, status: 400, want: []string{`"field":"name"`}},
			{name: "bad lifetime", method: "POST", url: "/tokens", body: `{"name":"x","expires_in":"soon"}`, status: 400, want: []string{`"field":"expires_in"`}},
			{name: "lifetime too short", method: "POST", url: "/tokens", body: `{"name":"x","expires_in":"30s"}`, status: 400, want: []string{`"field":"expires_in"`}},
			{name: "lifetime too long", method: "POST", url: "/tokens", body: `{"name":"x","expires_in":"4000d"}`, status: 400, want: []string{`"field":"expires_in"`}},
			{name: "zero days", method: "POST", url: "/tokens", body: `{"name":"x","expires_in":"0d"}`, status: 400, want: []string{`"field":"expires_in"`}},
			{name: "unknown field", method: "POST", url: "/tokens", body: `{"name":"x","scope":"all"}`, status: 400, want: []string{"invalid_json"}},
			{name: "anonymous", method: "POST", url: "/tokens", anon: true, body: `{"name":"x"}`, status: 401},
			{name: "list", method: "GET", url: "/tokens", status: 200,
				want:    []string{`"name":"ci"`, `"name":"days"`, `"name":"short"`, `"last_used_at":null`, `"expires_at":null`},
				notWant: []string{ci, "token_hash", `"token"`}},
			{name: "bob sees none of them", method: "GET", url: "/tokens", token: bobSession, status: 200, want: []string{`"items":[]`}},

			// Usable wherever a session is, as a bearer token only.
			{name: "token lists apps", method: "GET", url: "/apps", token: ci, status: 200},
			{name: "token makes an app", method: "POST", url: "/apps", token: ci, body: `{"slug":"by-token"}`, status: 201},
			{name: "token says whose it is", method: "GET", url: "/auth/me", token: ci, status: 200,
				want: []string{`"username":"root"`, `"api_token":{`, `"name":"ci"`}, notWant: []string{`"expires_at":"0001`}},
			{name: "token with a day lifetime", method: "GET", url: "/apps", token: days, status: 200},
			{name: "token as a cookie", method: "GET", url: "/apps", token: ci, cookie: true, status: 401, want: []string{"never as a cookie"}},
			{name: "forged token", method: "GET", url: "/apps", token: admin.APITokenPrefix + strings.Repeat("A", 43), status: 401, want: []string{"revoked or never issued"}},
			{name: "truncated token", method: "GET", url: "/apps", token: ci[:20], status: 401, want: []string{"invalid API token"}},
			{name: "logout with a token", method: "POST", url: "/auth/logout", token: ci, status: 400, want: []string{"revoke it with DELETE"}},
			{name: "used: last use recorded", method: "GET", url: "/tokens", status: 200, want: []string{`"last_used_at":"2030-`}},

			// Revoked by its user only.
			{name: "bob cannot revoke it", method: "DELETE", url: fmt.Sprintf("/tokens/%d", ciID), token: bobSession, status: 404},
			{name: "bad id", method: "DELETE", url: "/tokens/x", status: 400},
			{name: "revoke", method: "DELETE", url: fmt.Sprintf("/tokens/%d", ciID), status: 204},
			{name: "revoked token is refused", method: "GET", url: "/apps", token: ci, status: 401},
			{name: "revoke again", method: "DELETE", url: fmt.Sprintf("/tokens/%d", ciID), status: 404},
		})

		// A token expires at its time; a session-less wait does not slide it.
		s.clock.Advance(59 * time.Minute)
		s.run(t, scenario{name: "short-lived token before expiry", method: "GET", url: "/apps", token: short, status: 200})
		s.clock.Advance(time.Minute)
		s.run(t, scenario{name: "short-lived token at expiry", method: "GET", url: "/apps", token: short, status: 401, want: []string{"expired"}})

		// A disabled user's tokens stop working; a deleted user's go.
		_, bobToken := (&apiServer{base: s.base, token: bobSession}).createToken(t, `{"name":"bob-ci"}`)
		s.run(t, scenario{name: "bob's token works", method: "GET", url: "/apps", token: bobToken, status: 200})
		s.run(t, scenario{name: "disable bob", method: "PATCH", url: fmt.Sprintf("/users/%d", bob.ID), body: `{"disabled":true}`, status: 200})
		s.run(t, scenario{name: "disabled user's token", method: "GET", url: "/apps", token: bobToken, status: 401, want: []string{"disabled"}})
		s.run(t, scenario{name: "delete bob", method: "DELETE", url: fmt.Sprintf("/users/%d", bob.ID), status: 204})
		s.run(t, scenario{name: "deleted user's token", method: "GET", url: "/apps", token: bobToken, status: 401})
	})
}
