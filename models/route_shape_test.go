package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestRouteShapesAreUnique: the database refuses a route whose method and
// path shape another route of the app has, whatever its parameter names,
// and names the route it conflicts with.
func TestRouteShapesAreUnique(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		other := newApp(t, db, "b")
		s := newScript(t, db, app.ID, "s")
		o := newScript(t, db, other.ID, "s")
		users := newRoute(t, db, s, "GET", "/users/:id")
		files := newRoute(t, db, s, "GET", "/files/*rest")
		if users.Shape != "/users/:" || files.Shape != "/files/*" {
			t.Fatalf("shapes %q and %q", users.Shape, files.Shape)
		}
		tests := []struct {
			script       *models.Script
			method, path string
			conflict     string // "" when the route is stored
		}{
			{s, "GET", "/users/:name", fmt.Sprintf("GET /users/:name conflicts with GET /users/:id (route %d)", users.ID)},
			{s, "get", "/users/:other", fmt.Sprintf("GET /users/:other conflicts with GET /users/:id (route %d)", users.ID)},
			{s, "GET", "/files/*all", fmt.Sprintf("GET /files/*all conflicts with GET /files/*rest (route %d)", files.ID)},
			{s, "POST", "/users/:name", ""},
			{s, "ANY", "/users/:name", ""},
			{s, "GET", "/users/me", ""},
			{s, "GET", "/users/:id/", ""},
			{s, "GET", "/files/:name", ""},
			{o, "GET", "/users/:name", ""}, // another app
		}
		for _, tt := range tests {
			r := &models.Route{AppID: tt.script.AppID, ScriptID: tt.script.ID, Method: tt.method, Path: tt.path}
			err := db.CreateRoute(ctx, r)
			switch {
			case tt.conflict == "" && err != nil:
				t.Errorf("%s %s: %v", tt.method, tt.path, err)
			case tt.conflict != "" && (!errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), tt.conflict)):
				t.Errorf("%s %s: %v, want ErrConflict saying %q", tt.method, tt.path, err, tt.conflict)
			}
		}
		if err := db.CreateRoute(ctx, &models.Route{AppID: app.ID, ScriptID: s.ID, Method: "GET", Path: "/{id}"}); err == nil || errors.Is(err, models.ErrConflict) {
			t.Errorf("invalid path: %v, want a plain error", err)
		}
	})
}

// TestConcurrentConflictingRoutes: processes that add conflicting routes
// at the same moment through their own connections to one database get
// exactly one route stored; the rest are ErrConflict.
func TestConcurrentConflictingRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		nodes := []*models.DB{testdb.Open(t, tg), testdb.Open(t, tg)}
		app := newApp(t, nodes[0], "a")
		s := newScript(t, nodes[0], app.ID, "s")
		const rounds, writers = 10, 6
		for round := range rounds {
			start := make(chan struct{})
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					<-start
					r := &models.Route{AppID: app.ID, ScriptID: s.ID, Method: "GET", Path: fmt.Sprintf("/r%d/:p%d", round, w)}
					errs[w] = nodes[w%len(nodes)].CreateRoute(ctx, r)
				})
			}
			close(start)
			wg.Wait()
			stored := 0
			for _, err := range errs {
				switch {
				case err == nil:
					stored++
				case !errors.Is(err, models.ErrConflict):
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if stored != 1 {
				t.Fatalf("round %d: %d of %d conflicting routes stored, want 1", round, stored, writers)
			}
		}
	})
}
