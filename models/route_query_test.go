package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestRoutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		app := newApp(t, db, "a")
		other := newApp(t, db, "b")
		users := newScript(t, db, app.ID, "users")
		files := newScript(t, db, app.ID, "files")
		foreign := newScript(t, db, other.ID, "users")

		r1 := newRoute(t, db, users, "GET", "/users/:id")
		r2 := newRoute(t, db, files, "GET", "/files/*rest")
		r3 := newRoute(t, db, users, "POST", "/users")
		newRoute(t, db, foreign, "GET", "/users/:id") // same route, other app: fine

		creates := []struct {
			name    string
			route   models.Route
			wantErr error
		}{
			{"same method and path in the app", models.Route{AppID: app.ID, ScriptID: files.ID, Method: "GET", Path: "/users/:id"}, models.ErrConflict},
			{"other method", models.Route{AppID: app.ID, ScriptID: files.ID, Method: "PUT", Path: "/users/:id"}, nil},
			{"missing script", models.Route{AppID: app.ID, ScriptID: 999999, Method: "GET", Path: "/x"}, models.ErrNotFound},
			{"missing app", models.Route{AppID: 999999, ScriptID: users.ID, Method: "GET", Path: "/x"}, models.ErrNotFound},
			{"script of another app", models.Route{AppID: app.ID, ScriptID: foreign.ID, Method: "GET", Path: "/y"}, models.ErrNotFound},
		}
		for _, tt := range creates {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.route
				err := db.CreateRoute(ctx, &r)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("CreateRoute(%+v) = %v, want %v", tt.route, err, tt.wantErr)
				}
				if err == nil && r.ID == 0 {
					t.Error("route id not set")
				}
			})
		}

		got, err := db.Route(ctx, r2.ID)
		if err != nil || *got != *r2 {
			t.Errorf("Route(%d) = %+v, %v; want %+v", r2.ID, got, err, r2)
		}
		if _, err := db.Route(ctx, 999999); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Route(missing) = %v, want ErrNotFound", err)
		}

		scriptRoutes, err := db.ScriptRoutes(ctx, users.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ids := routeIDs(scriptRoutes); !slices.Equal(ids, []int64{r1.ID, r3.ID}) {
			t.Errorf("ScriptRoutes(users) = %v, want %v", ids, []int64{r1.ID, r3.ID})
		}
		appRoutes, err := db.AppRoutes(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(appRoutes) != 4 { // r1, r2, r3 and PUT /users/:id
			t.Errorf("AppRoutes = %+v, want 4 routes", appRoutes)
		}

		deleted, err := db.DeleteRoute(ctx, r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *deleted != *r1 {
			t.Errorf("DeleteRoute returned %+v, want %+v", deleted, r1)
		}
		if _, err := db.DeleteRoute(ctx, r1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second DeleteRoute = %v, want ErrNotFound", err)
		}
		// The freed method and path can be bound again.
		newRoute(t, db, files, "GET", "/users/:id")
	})
}

func routeIDs(routes []models.Route) []int64 {
	ids := make([]int64, len(routes))
	for i, r := range routes {
		ids[i] = r.ID
	}
	return ids
}
