package admin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestInvocationsPerMinute(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		shop := s.create(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		now := s.clock.Now() // 12:00:00 on the fake clock
		inv := func(ago time.Duration, appID, scriptID int64, status int) models.Invocation {
			return models.Invocation{RequestID: "r", AppID: appID, ScriptID: scriptID, Version: 1,
				Method: "GET", Path: "/", Status: status, CreatedAt: now.Add(-ago)}
		}
		if err := s.db.InsertInvocations(context.Background(), []models.Invocation{
			inv(0, shop, 5, 200),
			inv(0, shop, 5, 502),
			inv(90*time.Second, shop, 5, 200), // 11:58
			inv(90*time.Second, 99, 6, 200),   // another app
			inv(2*time.Hour, shop, 5, 200),    // outside the default hour
		}); err != nil {
			t.Fatal(err)
		}

		s.runAll(t, []scenario{
			{name: "bad minutes", method: "GET", url: "/invocations/per-minute?minutes=0", status: 400, want: []string{`"field":"minutes"`}},
			{name: "too many minutes", method: "GET", url: "/invocations/per-minute?minutes=1441", status: 400, want: []string{`"field":"minutes"`}},
			{name: "bad script", method: "GET", url: "/invocations/per-minute?script=-1", status: 400, want: []string{`"field":"script"`}},
			{name: "unknown app", method: "GET", url: "/invocations/per-minute?app=nope", status: 404},
			{name: "anonymous", method: "GET", url: "/invocations/per-minute", anon: true, status: 401},
			{name: "empty window", method: "GET", url: "/invocations/per-minute?script=12345", status: 200, want: []string{`"items":[]`}},
		})

		get := func(url string) (out struct {
			Since   time.Time            `json:"since"`
			Minutes int64                `json:"minutes"`
			Items   []models.MinuteCount `json:"items"`
		}) {
			body := s.run(t, scenario{name: url, method: "GET", url: url, status: 200})
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("%s: %v: %s", url, err, body)
			}
			return out
		}
		all := get("/invocations/per-minute")
		if all.Minutes != 60 || !all.Since.Equal(now.Add(-59*time.Minute)) {
			t.Errorf("default window: minutes %d since %s, want 60 since %s", all.Minutes, all.Since, now.Add(-59*time.Minute))
		}
		want := []models.MinuteCount{
			{Minute: now.Add(-2 * time.Minute), ScriptID: 5, Requests: 1},
			{Minute: now.Add(-2 * time.Minute), ScriptID: 6, Requests: 1},
			{Minute: now, ScriptID: 5, Requests: 2, Errors: 1},
		}
		if !equalCounts(all.Items, want) {
			t.Errorf("all: %+v, want %+v", all.Items, want)
		}
		if app := get("/invocations/per-minute?app=shop"); !equalCounts(app.Items, []models.MinuteCount{want[0], want[2]}) {
			t.Errorf("app=shop: %+v", app.Items)
		}
		if one := get("/invocations/per-minute?minutes=1&script=5"); !equalCounts(one.Items, want[2:]) {
			t.Errorf("minutes=1: %+v", one.Items)
		}
		if day := get("/invocations/per-minute?minutes=180&script=5"); len(day.Items) != 3 {
			t.Errorf("minutes=180 found %d buckets, want 3: %+v", len(day.Items), day.Items)
		}
	})
}

func equalCounts(a, b []models.MinuteCount) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Minute.Equal(b[i].Minute) || a[i].ScriptID != b[i].ScriptID || a[i].Requests != b[i].Requests || a[i].Errors != b[i].Errors {
			return false
		}
	}
	return true
}
