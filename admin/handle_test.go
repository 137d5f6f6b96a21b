package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// holdWriteLock makes the database stuck for writers, as a long
// transaction or a lock in PostgreSQL would, until release: on SQLite a
// transaction holds the write lock (BEGIN IMMEDIATE); on PostgreSQL it
// holds EXCLUSIVE locks on the admin API's tables. Reads go on, as they
// do beside a writer, so requests still pass authentication.
func holdWriteLock(t *testing.T, db *models.DB, tg testdb.Target) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Bun().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name == testdb.PostgresName {
		_, err = tx.ExecContext(ctx, "LOCK TABLE apps, domains, routes, scripts, script_versions, admin_users, admin_sessions, api_tokens IN EXCLUSIVE MODE")
		if err != nil {
			t.Fatal(err)
		}
	}
	done := false
	release = func() {
		if !done {
			done = true
			_ = tx.Rollback()
		}
	}
	t.Cleanup(release)
	return release
}

// TestStuckDatabase: every handler does its database work under the
// request deadline (server.admin_request_timeout). When the database
// holds a write past it, the request is answered 503 "timeout" with
// Retry-After, logged with its request id and user, and leaves nothing
// behind; it never hangs.
func TestStuckDatabase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		// Long enough for the harness's login on a loaded CI machine
		// (under -race), short enough to keep the test quick.
		const timeout = time.Second
		s := startAPI(t, tg, func(o *admin.Options) { o.RequestTimeout = timeout })
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		scriptID := s.create(t, scenario{name: "script", method: "POST", url: "/apps/shop/scripts",
			body: map[string]string{"name": "cart", "source": okSource}, status: 201})

		release := holdWriteLock(t, s.db, tg)
		for _, sc := range []scenario{
			{name: "create an app (apps.go)", method: "POST", url: "/apps", body: map[string]string{"slug": "late"}},
			{name: "rename an app (apps.go)", method: "PATCH", url: "/apps/shop", body: map[string]string{"name": "Late"}},
			{name: "claim a domain (domains.go)", method: "POST", url: "/apps/shop/domains", body: map[string]string{"pattern": "late.example.com"}},
			{name: "bind a route (routes.go)", method: "POST", url: fmt.Sprintf("/scripts/%d/routes", scriptID),
				body: map[string]string{"method": "GET", "path": "/late"}},
			{name: "update a script (scripts.go)", method: "PUT", url: fmt.Sprintf("/scripts/%d", scriptID), body: map[string]string{"source": okSource + "\n// late\n"}},
			{name: "deploy by name (script_by_name.go)", method: "PUT", url: "/apps/shop/scripts/by-name/late", body: map[string]string{"source": okSource}},
			{name: "script limits (script_status.go)", method: "PATCH", url: fmt.Sprintf("/scripts/%d", scriptID), body: `{"settings":{"timeout_ms":250}}`},
			{name: "create a user (users.go)", method: "POST", url: "/users", body: map[string]string{"username": "late", "password": rootPassword}},
			{name: "log out (auth.go)", method: "POST", url: "/auth/logout"},
			{name: "create a token (tokens.go)", method: "POST", url: "/tokens", body: map[string]string{"name": "late"}},
		} {
			sc.status = http.StatusServiceUnavailable
			sc.want = []string{`"code":"timeout"`, `"request_id":"test-req"`}
			sc.wantHeaders = map[string]string{"Retry-After": "1"}
			start := time.Now()
			s.run(t, sc)
			if took := time.Since(start); took > timeout+2*time.Second {
				t.Fatalf("%s: answered after %v, want about %v", sc.name, took, timeout)
			}
		}
		for _, w := range []string{"admin request timed out", "request_id=test-req", "user=root", "context deadline exceeded"} {
			if !strings.Contains(s.logs.String(), w) {
				t.Fatalf("log lacks %q:\n%s", w, s.logs.String())
			}
		}

		release()
		s.runAll(t, []scenario{
			{name: "the timed-out changes left nothing", method: "GET", url: "/apps", status: 200, want: []string{`"slug":"shop"`, `"name":"shop"`}, notWant: []string{"late"}},
			{name: "no user", method: "GET", url: "/users", status: 200, notWant: []string{"late"}},
			{name: "no new version, no new script", method: "GET", url: "/apps/shop/scripts", status: 200, want: []string{`"live_version":1`, `"timeout_ms":null`}, notWant: []string{"late"}},
			{name: "still logged in", method: "GET", url: "/auth/me", status: 200},
			{name: "writes work again", method: "POST", url: "/apps", body: map[string]string{"slug": "late"}, status: 201},
		})
	})
}
