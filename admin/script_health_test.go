package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestScriptHealth: the script list and the status endpoint derive each
// script's health from its latest calls (the last 20 within 15 minutes),
// so a script whose every call fails is never "ok".
func TestScriptHealth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		s := startAPI(t, tg)
		s.run(t, scenario{name: "app", method: "POST", url: "/apps", body: map[string]string{"slug": "shop"}, status: 201})
		s.run(t, scenario{name: "other", method: "POST", url: "/apps", body: map[string]string{"slug": "other"}, status: 201})
		ids := map[string]int64{}
		for _, name := range []string{"good", "flaky", "sometimes", "broken", "recovered", "stale", "idle", "parked"} {
			ids[name] = s.create(t, scenario{name: name, method: "POST", url: "/apps/shop/scripts",
				body: map[string]string{"name": name, "source": okSource}, status: 201})
		}
		otherID := s.create(t, scenario{name: "other script", method: "POST", url: "/apps/other/scripts",
			body: map[string]string{"name": "x", "source": okSource}, status: 201})

		now := s.clock.Now()
		var invs []models.Invocation
		// calls logs n calls of script name, ago before now, with status.
		calls := func(name string, n int, ago time.Duration, status int) {
			for range n {
				invs = append(invs, models.Invocation{RequestID: "r", AppID: 1, ScriptID: ids[name], Version: 1,
					Method: "GET", Path: "/", Status: status, CreatedAt: now.Add(-ago)})
			}
		}
		calls("good", 20, time.Minute, 200)
		calls("good", 3, time.Minute, 404) // a client's mistake is no failure
		calls("flaky", 18, time.Minute, 200)
		calls("flaky", 2, time.Minute, 502) // 2 of 20: degraded
		calls("sometimes", 19, time.Minute, 200)
		calls("sometimes", 1, time.Minute, 500) // 1 of 20: ok
		calls("broken", 5, time.Minute, 500)
		calls("recovered", 25, 2*time.Minute, 500)
		calls("recovered", 20, time.Minute, 200) // the latest 20 succeed
		calls("stale", 9, 20*time.Minute, 504)   // outside the window
		calls("parked", 4, time.Minute, 503)
		for i := range invs {
			if invs[i].ScriptID == 0 {
				t.Fatalf("call %d of no script", i)
			}
		}
		// Another app's failing calls and the app's unmatched requests
		// change nothing.
		invs = append(invs,
			models.Invocation{RequestID: "r", AppID: 2, ScriptID: otherID, Version: 1, Method: "GET", Path: "/", Status: 500, CreatedAt: now},
			models.Invocation{RequestID: "r", AppID: 1, ScriptID: 0, Method: "GET", Path: "/nope", Status: 500, CreatedAt: now})
		if err := s.db.InsertInvocations(context.Background(), invs); err != nil {
			t.Fatal(err)
		}
		s.deployer.mu.Lock()
		s.deployer.status = []admin.ScriptState{{ScriptID: ids["parked"], Crashes: 6, ParkedUntil: now.Add(time.Minute), ParkReason: "crashed 6 times"}}
		s.deployer.mu.Unlock()

		type health struct {
			State    string    `json:"state"`
			Calls    int64     `json:"recent_calls"`
			Failures int64     `json:"recent_failures"`
			Since    time.Time `json:"since"`
		}
		want := map[string]health{
			"good":      {healthOK, 20, 0, time.Time{}},
			"flaky":     {"degraded", 20, 2, time.Time{}},
			"sometimes": {healthOK, 20, 1, time.Time{}},
			"broken":    {"failing", 5, 5, time.Time{}},
			"recovered": {healthOK, 20, 0, time.Time{}},
			"stale":     {healthOK, 0, 0, time.Time{}},
			"idle":      {healthOK, 0, 0, time.Time{}},
			"parked":    {"parked", 4, 4, time.Time{}},
		}
		since := now.Add(-15 * time.Minute)

		var list struct {
			Items []struct {
				Name   string `json:"name"`
				Health health `json:"health"`
			} `json:"items"`
		}
		body := s.run(t, scenario{name: "list", method: "GET", url: "/apps/shop/scripts", status: 200})
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if len(list.Items) != len(want) {
			t.Fatalf("%d scripts listed, want %d: %s", len(list.Items), len(want), body)
		}
		for _, it := range list.Items {
			w := want[it.Name]
			w.Since = since
			if got := it.Health; got.State != w.State || got.Calls != w.Calls || got.Failures != w.Failures || !got.Since.Equal(since) {
				t.Errorf("list: %s health %+v, want %+v", it.Name, got, w)
			}
		}

		// The status endpoint says the same of each script.
		for name, w := range want {
			var st struct {
				State  string `json:"state"`
				Health health `json:"health"`
			}
			body := s.run(t, scenario{name: "status " + name, method: "GET", url: fmt.Sprintf("/apps/shop/scripts/%d/status", ids[name]), status: 200})
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatal(err)
			}
			if st.Health.State != w.State || st.Health.Calls != w.Calls || st.Health.Failures != w.Failures {
				t.Errorf("status: %s health %+v, want %+v", name, st.Health, w)
			}
		}
	})
}

const healthOK = "ok"
