package multinode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/server"
)

// withRoles gives a node the roles of cluster.roles.
func withRoles(roles ...string) func(*config.Config, *server.Options) {
	return func(cfg *config.Config, _ *server.Options) { cfg.Cluster.Roles = roles }
}

// get is GET path on s with host, and its status and body.
func get(t *testing.T, s *server.Server, host, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Host = host
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRoles: n1 is manager and executor, n2 ingress only, n3 executor
// only. Calls sent to n2 all run on n1 and n3 (their records never name
// n2); n3 and n1 refuse script traffic with 421 but serve /healthz and
// /readyz; admin writes made through n2 and n3 are forwarded to n1 and
// take effect, reads are served locally. With the manager gone a write
// is answered 503 no_manager; with every executor gone a call is
// answered 503 no_executor, not left hanging.
func TestRoles(t *testing.T) {
	tg := testdb.Postgres(t)
	n1 := startNodeWith(t, tg, "n1", withRoles(config.RoleManager, config.RoleExecutor))
	n2 := startNodeWith(t, tg, "n2", withRoles(config.RoleIngress), n1.Node().GossipAddr())
	n3 := startNodeWith(t, tg, "n3", withRoles(config.RoleExecutor), n1.Node().GossipAddr())
	tok := login(t, n2) // logging in works on any node
	eventually(t, 5*time.Second, func() bool {
		st := statuses(clusterView(t, n2, tok))
		return st["n1"] == "alive" && st["n2"] == "alive" && st["n3"] == "alive"
	}, "three members alive on n2")
	ctx := context.Background()

	// Admin writes through the non-managers are forwarded to n1.
	c2, c3 := apiclient.New(n2.AdminURL(), tok), apiclient.New(n3.AdminURL(), tok)
	if _, err := c2.CreateApp(ctx, "hot", "Hot"); err != nil {
		t.Fatalf("create an app through n2: %v", err)
	}
	sv, err := c3.CreateScript(ctx, "hot", "slow", slowScript, "")
	if err != nil {
		t.Fatalf("create a script through n3: %v", err)
	}
	if _, err := c3.CreateRoute(ctx, sv.ID, "GET", "/work/:ms"); err != nil {
		t.Fatalf("create a route through n3: %v", err)
	}
	if apps, err := c2.Apps(ctx); err != nil || !slices.ContainsFunc(apps, func(a apiclient.App) bool { return a.Slug == "hot" }) {
		t.Fatalf("apps read on n2: %+v, %v", apps, err)
	}

	// Every call sent to n2 runs on an executor member.
	eventually(t, 5*time.Second, func() bool {
		st, _ := get(t, n2, "hot.localhost", "/work/1")
		return st == 200
	}, "the route live on n2")
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if st, body := get(t, n2, "hot.localhost", "/work/20"); st != 200 {
				t.Errorf("call through n2 = %d %s", st, body)
			}
		})
	}
	wg.Wait()
	ran := n2.ExecutorCalls()
	if ran["n2"] != 0 || ran["n1"]+ran["n3"] < 17 {
		t.Errorf("calls through n2 ran on %v: want n1 and n3 only", ran)
	}
	eventually(t, 5*time.Second, func() bool {
		invs, err := c2.Invocations(ctx, apiclient.InvocationFilter{ScriptID: sv.ID, Limit: 100})
		if err != nil || len(invs) < 17 {
			return false
		}
		for _, inv := range invs {
			if inv.Node != "n1" && inv.Node != "n3" {
				t.Fatalf("a call through n2 is recorded as run on %q", inv.Node)
			}
		}
		return true
	}, "every call through n2 recorded")

	// Nodes without the ingress role refuse script traffic, not health checks.
	for _, s := range []*server.Server{n1, n3} {
		if st, body := get(t, s, "hot.localhost", "/work/1"); st != 421 || !strings.Contains(body, `"code":"no_ingress_role"`) {
			t.Errorf("script call on %s = %d %s, want 421 no_ingress_role", s.NodeName(), st, body)
		}
		if res, err := apiclient.New(s.AdminURL(), tok).Execute(ctx, sv.ID, "GET", "/1", nil, nil); err != nil || res.Status != 421 {
			t.Errorf("execute on %s = %+v, %v; want 421", s.NodeName(), res, err)
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			if st, body := get(t, s, "hot.localhost", path); st != 200 {
				t.Errorf("%s on %s = %d %s", path, s.NodeName(), st, body)
			}
		}
	}

	// Without a manager, writes are refused at once with a reason.
	shutdown(t, n1)
	eventually(t, 5*time.Second, func() bool {
		_, err := c2.CreateApp(ctx, "late", "Late")
		var e *apiclient.Error
		return asAPIError(err, &e) && e.Status == 503 && e.Code == "no_manager"
	}, "a write on n2 answered 503 no_manager")
	// Without an executor, calls are answered 503 no_executor.
	shutdown(t, n3)
	var last string
	eventually(t, 10*time.Second, func() bool {
		st, body := get(t, n2, "hot.localhost", "/work/1")
		if next := fmt.Sprint(st, " ", body); next != last {
			t.Logf("call on n2 without executors: %s", next)
			last = next
		}
		return st == 503 && strings.Contains(body, `"code":"no_executor"`)
	}, "a call on n2 answered 503 no_executor")
}

// asAPIError is errors.As for *apiclient.Error.
func asAPIError(err error, e **apiclient.Error) bool {
	if err == nil {
		return false
	}
	ae, ok := err.(*apiclient.Error)
	if !ok {
		return false
	}
	*e = ae
	return true
}

// TestForwardedWriteIsNotForwardedAgain: a write marked as forwarded,
// sent to a node without the manager role, is answered 421 rather than
// sent on (two nodes whose member tables disagree cannot loop).
func TestForwardedWriteIsNotForwardedAgain(t *testing.T) {
	tg := testdb.Postgres(t)
	n1 := startNode(t, tg, "n1")
	n2 := startNodeWith(t, tg, "n2", withRoles(config.RoleIngress, config.RoleExecutor), n1.Node().GossipAddr())
	tok := login(t, n2)
	req, _ := http.NewRequest("POST", n2.AdminURL()+admin.Prefix+"/apps", strings.NewReader(`{"slug":"x"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(server.HeaderForwardedBy, "n9")
	res, err := apiclient.New(n2.AdminURL(), tok).HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 421 || body.Error.Code != "not_manager" {
		t.Fatalf("forwarded write on n2 = %d %+v, want 421 not_manager", res.StatusCode, body)
	}
}

// crashScript panics on every call.
const crashScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	panic("boom")
}
`

// TestParkingHoldsClusterWide: a script that crash-loops through n1 is
// parked by n1's router; n2's and n3's routers park it too within
// seconds, without a call reaching them; every node's status names n1
// as the node that parked it; a new version serves everywhere.
func TestParkingHoldsClusterWide(t *testing.T) {
	nodes, client := threeNodes(t)
	ctx := context.Background()
	if _, err := client.CreateApp(ctx, "crashy", "Crashy"); err != nil {
		t.Fatal(err)
	}
	sv, err := client.CreateScript(ctx, "crashy", "crash", crashScript, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 { // the default crash limit is 5
		if res, err := client.Execute(ctx, sv.ID, "GET", "/", nil, nil); err != nil || res.Status != 500 {
			t.Fatalf("crash %d: %+v, %v", i+1, res, err)
		}
	}
	if res, err := client.Execute(ctx, sv.ID, "GET", "/", nil, nil); err != nil || res.Status != 503 {
		t.Fatalf("after 6 crashes on n1: %+v, %v; want 503", res, err)
	}
	tok := login(t, nodes[0])
	for _, s := range nodes[1:] {
		c := apiclient.New(s.AdminURL(), tok)
		// The script list's state is the router's own.
		eventually(t, 10*time.Second, func() bool {
			scripts, err := c.Scripts(ctx, "crashy")
			return err == nil && len(scripts) == 1 && scripts[0].State == "parked"
		}, s.NodeName()+"'s router parks the script")
		res, err := c.Execute(ctx, sv.ID, "GET", "/", nil, nil)
		if err != nil || res.Status != 503 || !strings.Contains(string(res.Body), "parked on node n1") {
			t.Errorf("call on %s: %+v, %v; want 503 parked on node n1", s.NodeName(), res, err)
		}
		st := scriptStatus(t, s, tok, sv.ID)
		if st["state"] != "parked" || st["parked_by"] != "n1" || st["node"] != s.NodeName() {
			t.Errorf("status on %s = %v, want parked by n1", s.NodeName(), st)
		}
	}

	if _, err := client.UpdateScript(ctx, sv.ID, strings.Replace(crashScript, `panic("boom")`, `return picloud.Text(200, "fixed")`, 1), ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range nodes {
		c := apiclient.New(s.AdminURL(), tok)
		eventually(t, 5*time.Second, func() bool {
			res, err := c.Execute(ctx, sv.ID, "GET", "/", nil, nil)
			return err == nil && res.Status == 200
		}, fmt.Sprintf("the fixed version serving on %s", s.NodeName()))
	}
}

// scriptStatus is GET /apps/crashy/scripts/{id}/status on s.
func scriptStatus(t *testing.T, s *server.Server, token string, id int64) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s%s/apps/crashy/scripts/%d/status", s.AdminURL(), admin.Prefix, id), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := apiclient.New(s.AdminURL(), token).HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
