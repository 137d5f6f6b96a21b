package admin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestAppShadowedByTheAdminHost: an app that got the slug "admin" before
// admin.localhost was the admin host loses that host. The server warns
// at start naming the app and the fix, the app's own answer says so,
// and renaming it (the fix) works and ends the warning.
func TestAppShadowedByTheAdminHost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg) // admin host admin.localhost
		// Stored before the slug was reserved: straight into the database.
		old := &models.App{Slug: "admin", Name: "Old admin tools"}
		if err := s.db.CreateApp(context.Background(), old); err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.api.RunJanitor(ctx, time.Hour)
		}()
		defer func() { cancel(); <-done }()
		want := []string{`app \"Old admin tools\" has the slug \"admin\"`, "admin.localhost is the admin host", "rename it", "app=admin"}
		deadline := time.Now().Add(10 * time.Second)
		for !containsAll(s.logs.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no start-up warning with %q in the log:\n%s", want, s.logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}

		s.runAll(t, []scenario{
			appScenario("shop", 201),
			{name: "get the shadowed app", method: "GET", url: "/apps/admin", status: 200,
				want: []string{`"slug":"admin"`, `"warnings":["app \"Old admin tools\" has the slug \"admin\"`, "rename it"}},
			{name: "other apps have no warning", method: "GET", url: "/apps/shop", status: 200, notWant: []string{"warnings"}},
			{name: "it may keep its slug while it changes its name", method: "PATCH", url: "/apps/admin",
				body: map[string]string{"slug": "admin", "name": "Admin tools"}, status: 200, want: []string{`"name":"Admin tools"`}},
			{name: "rename it", method: "PATCH", url: "/apps/admin", body: map[string]string{"slug": "tools"}, status: 200},
			{name: "renamed, no warning", method: "GET", url: "/apps/tools", status: 200, notWant: []string{"warnings"}},
			{name: "and it cannot come back", method: "PATCH", url: "/apps/tools", body: map[string]string{"slug": "admin"}, status: 400, want: []string{"reserved"}},
		})
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
