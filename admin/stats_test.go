package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestStats: per-app and per-script request, error and p95 figures over
// a window, computed in SQL on both dialects; unmatched requests are
// named, idle scripts listed with zeros, and the apps carry their counts.
func TestStats(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		shop := s.create(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		blog := s.create(t, scenario{name: "blog", method: "POST", url: "/apps", body: map[string]string{"slug": "blog"}, status: 201})
		users := s.create(t, scenario{name: "users", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "users", "source": okSource}, status: 201})
		idle := s.create(t, scenario{name: "idle", method: "POST", url: "/apps/shop/scripts", body: map[string]string{"name": "idle", "source": okSource}, status: 201})
		s.create(t, scenario{name: "route", method: "POST", url: fmt.Sprintf("/scripts/%d/routes", users), body: map[string]string{"method": "GET", "path": "/u"}, status: 201})
		s.create(t, scenario{name: "domain", method: "POST", url: "/apps/shop/domains", body: map[string]string{"pattern": "shop.example.com"}, status: 201})

		now := s.clock.Now()
		var invs []models.Invocation
		add := func(ago time.Duration, app, script int64, status int, durUS int64) {
			invs = append(invs, models.Invocation{RequestID: "r", AppID: app, ScriptID: script, Version: 1,
				Method: "GET", Path: "/", Status: status, DurationUS: durUS, CreatedAt: now.Add(-ago)})
		}
		// users: 20 calls of 1..20 ms, two of them 5xx, one 4xx: the p95
		// (nearest rank 19 of 20) is 19 ms.
		for i := int64(1); i <= 20; i++ {
			status := 200
			switch i {
			case 3, 7:
				status = 500
			case 9:
				status = 404
			}
			add(time.Minute, shop, users, status, i*1000)
		}
		add(30*time.Second, shop, 0, 404, 50) // unmatched, the app's latest
		add(2*time.Hour, shop, users, 500, 1) // outside the default hour
		add(time.Minute, blog, 77, 200, 3000) // another app
		if err := s.db.InsertInvocations(context.Background(), invs); err != nil {
			t.Fatal(err)
		}

		s.runAll(t, []scenario{
			{name: "bad since", method: "GET", url: "/apps/shop/stats?since=1x", status: 400, want: []string{`"field":"since"`}},
			{name: "since too short", method: "GET", url: "/stats?since=1s", status: 400, want: []string{`"field":"since"`}},
			{name: "unknown app", method: "GET", url: "/apps/nope/stats", status: 404},
			{name: "anonymous", method: "GET", url: "/stats", anon: true, status: 401},
		})

		var app struct {
			Since   time.Time              `json:"since"`
			App     models.InvocationStats `json:"app"`
			Scripts []struct {
				Name string `json:"name"`
				models.InvocationStats
			} `json:"scripts"`
		}
		body := s.run(t, scenario{name: "app stats", method: "GET", url: "/apps/shop/stats", status: 200})
		if err := json.Unmarshal(body, &app); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if !app.Since.Equal(now.Add(-time.Hour)) {
			t.Errorf("since %s, want %s", app.Since, now.Add(-time.Hour))
		}
		if a := app.App; a.Requests != 21 || a.Errors != 2 || a.ClientErrors != 2 || a.P95US != 19000 || a.MaxUS != 20000 || a.LastStatus != 404 || !a.LastAt.Equal(now.Add(-30*time.Second)) {
			t.Errorf("app figures %+v", a)
		}
		if len(app.Scripts) != 3 {
			t.Fatalf("scripts %+v, want idle, users and unmatched", app.Scripts)
		}
		rows := map[string]models.InvocationStats{}
		for _, r := range app.Scripts {
			rows[r.Name] = r.InvocationStats
		}
		if u := rows["users"]; u.ScriptID != users || u.Requests != 20 || u.Errors != 2 || u.ClientErrors != 1 || u.P95US != 19000 || u.MaxUS != 20000 {
			t.Errorf("users %+v", u)
		}
		if i := rows["idle"]; i.ScriptID != idle || i.Requests != 0 || i.P95US != 0 {
			t.Errorf("idle %+v", i)
		}
		if u := rows["unmatched"]; u.ScriptID != 0 || u.Requests != 1 || u.ClientErrors != 1 || u.P95US != 50 {
			t.Errorf("unmatched %+v", u)
		}

		// A wider window takes in the old call.
		body = s.run(t, scenario{name: "3h", method: "GET", url: "/apps/shop/stats?since=3h", status: 200})
		if err := json.Unmarshal(body, &app); err != nil {
			t.Fatal(err)
		}
		if app.App.Requests != 22 || app.App.Errors != 3 {
			t.Errorf("3h figures %+v", app.App)
		}

		var all struct {
			Items []struct {
				Slug string `json:"slug"`
				models.AppCounts
				models.InvocationStats
			} `json:"items"`
		}
		body = s.run(t, scenario{name: "all", method: "GET", url: "/stats", status: 200})
		if err := json.Unmarshal(body, &all); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, it := range all.Items {
			got[it.Slug] = fmt.Sprintf("%d scripts %d routes %d domains %d requests %d errors p95 %d", it.Scripts, it.Routes, it.Domains, it.Requests, it.Errors, it.P95US)
		}
		want := map[string]string{
			"shop": "2 scripts 1 routes 1 domains 21 requests 2 errors p95 19000",
			"blog": "0 scripts 0 routes 0 domains 1 requests 0 errors p95 3000",
		}
		for slug, w := range want {
			if got[slug] != w {
				t.Errorf("%s: %s, want %s", slug, got[slug], w)
			}
		}
	})
}
