package multinode_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/server"
)

// scrape is GET /metrics on s's metrics listener.
func scrape(t *testing.T, s *server.Server) string {
	t.Helper()
	res, err := http.Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("/metrics = %d %s", res.StatusCode, b)
	}
	return string(b)
}

// callHello calls the seeded hello app on s and returns the request id.
func callHello(t *testing.T, s *server.Server) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+"/", nil)
	req.Host = "hello.localhost"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET / on hello at %s = %d", s.URL(), res.StatusCode)
	}
	return res.Header.Get("X-Request-Id")
}

// TestNodesNameThemselvesInRecordsAndMetrics: in a two-node cluster each
// call's record names the node that ran it, node= finds it through any
// node, and each node's /metrics shows the members by status and the
// remote-call figures, every series labelled with its node.
func TestNodesNameThemselvesInRecordsAndMetrics(t *testing.T) {
	tg := testdb.Postgres(t)
	a := startNode(t, tg, "n1")
	b := startNode(t, tg, "n2", a.Node().GossipAddr())
	tokA, tokB := login(t, a), login(t, b)
	eventually(t, 5*time.Second, func() bool {
		sa, sb := statuses(clusterView(t, a, tokA)), statuses(clusterView(t, b, tokB))
		return sa["n2"] == "alive" && sb["n1"] == "alive"
	}, "both members alive on both nodes")

	// Each call runs on the node that owns its executor slot, which may
	// not be the one that received it: the record names the one that ran it.
	onA, onB := callHello(t, a), callHello(t, b)
	c := apiclient.New(a.AdminURL(), tokA)
	ctx := context.Background()
	for _, call := range []struct {
		s     *server.Server
		reqID string
	}{{a, onA}, {b, onB}} {
		var ranOn string
		for name, n := range call.s.ExecutorCalls() {
			if n == 1 {
				ranOn = name
			}
		}
		eventually(t, 5*time.Second, func() bool {
			invs, err := c.Invocations(ctx, apiclient.InvocationFilter{Node: ranOn})
			for _, inv := range invs {
				if inv.RequestID == call.reqID {
					return err == nil
				}
			}
			return false
		}, fmt.Sprintf("call %s listed on n1 with node=%s, where it ran", call.reqID, ranOn))
		inv, err := c.Invocation(ctx, call.reqID)
		if err != nil || inv.Node != ranOn {
			t.Fatalf("record of %s: %+v, %v; want node %s", call.reqID, inv, err, ranOn)
		}
	}

	body := scrape(t, a)
	for _, want := range []string{
		`picloud_cluster_members{node="n1",status="alive"} 2`,
		`picloud_cluster_members{node="n1",status="left"} 0`,
		`picloud_cluster_remote_calls_total{node="n1",outcome="ok"} `,
		`picloud_cluster_remote_calls_total{node="n1",outcome="error"} `,
		`picloud_cluster_remote_call_duration_seconds_count{node="n1"} `,
		`picloud_requests_total{class="2xx",node="n1"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics of n1 lacks %s", want)
		}
	}
	if body := scrape(t, b); !strings.Contains(body, `picloud_cluster_members{node="n2",status="alive"} 2`) {
		t.Errorf("/metrics of n2 does not count two members alive:\n%s", body)
	}

	shutdown(t, b)
	eventually(t, 2*time.Second, func() bool {
		body := scrape(t, a)
		return strings.Contains(body, `picloud_cluster_members{node="n1",status="alive"} 1`) &&
			strings.Contains(body, `picloud_cluster_members{node="n1",status="left"} 1`)
	}, "n1's /metrics counts n2 left")
}

// TestRecordsNameTheExecutorNode: calls of one hot script, all sent to
// n1, run on several nodes; each record names the node that ran it (not
// the one that received it), the records agree with n1's count of calls
// per node, and n1's /metrics counts the calls it sent to the others.
func TestRecordsNameTheExecutorNode(t *testing.T) {
	nodes, client := threeNodes(t)
	ctx := context.Background()
	if _, err := client.CreateApp(ctx, "hot", "Hot"); err != nil {
		t.Fatal(err)
	}
	sv, err := client.CreateScript(ctx, "hot", "slow", slowScript, "")
	if err != nil {
		t.Fatal(err)
	}
	const calls = 24
	var wg sync.WaitGroup
	for range calls / 8 {
		for range 8 {
			wg.Go(func() {
				if res, err := client.Execute(ctx, sv.ID, "GET", "/50", nil, nil); err != nil || res.Status != 200 {
					t.Errorf("call: %v %+v", err, res)
				}
			})
		}
		wg.Wait()
	}
	ran := nodes[0].ExecutorCalls()
	byNode := map[string]int64{}
	eventually(t, 5*time.Second, func() bool {
		invs, err := client.Invocations(ctx, apiclient.InvocationFilter{ScriptID: sv.ID, Limit: 100})
		if err != nil || len(invs) != calls {
			return false
		}
		clear(byNode)
		for _, inv := range invs {
			byNode[inv.Node]++
		}
		return true
	}, "every call recorded")
	t.Logf("records by node %v, calls by node %v", byNode, ran)
	for name, n := range ran {
		if byNode[name] != n {
			t.Errorf("records name %s %d times, but it ran %d calls (records %v, calls %v)", name, byNode[name], n, byNode, ran)
		}
	}
	if len(byNode) < 2 {
		t.Fatalf("records name %v: want several nodes", byNode)
	}
	remote := ran["n2"] + ran["n3"]
	body := scrape(t, nodes[0])
	for _, want := range []string{
		fmt.Sprintf(`picloud_cluster_remote_calls_total{node="n1",outcome="ok"} %d`, remote),
		`picloud_cluster_remote_calls_total{node="n1",outcome="error"} 0`,
		fmt.Sprintf(`picloud_cluster_remote_call_duration_seconds_count{node="n1"} %d`, remote),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics of n1 lacks %s", want)
		}
	}
}
