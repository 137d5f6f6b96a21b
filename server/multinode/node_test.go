package multinode_test

import (
	"context"
	"io"
	"net/http"
	"strings"
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
// call's record names the node that ran it, node= tells them apart on
// any node, and each node's /metrics shows the members by status and the
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

	onA, onB := callHello(t, a), callHello(t, b)
	c := apiclient.New(a.AdminURL(), tokA)
	ctx := context.Background()
	eventually(t, 5*time.Second, func() bool {
		invs, err := c.Invocations(ctx, apiclient.InvocationFilter{Node: "n2"})
		return err == nil && len(invs) == 1 && invs[0].RequestID == onB
	}, "n2's call listed on n1 with node=n2, and nothing else")
	inv, err := c.Invocation(ctx, onA)
	if err != nil || inv.Node != "n1" {
		t.Fatalf("record of the call to n1: %+v, %v", inv, err)
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
