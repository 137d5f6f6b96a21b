package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/server"
)

// scrape is GET /metrics on s's metrics listener.
func scrape(t *testing.T, s *server.Server) string {
	t.Helper()
	if s.MetricsAddr() == nil {
		t.Fatal("no metrics listener")
	}
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

// TestScriptStatusNamesTheNode: the status endpoint says which node
// answered (parking is per node), outside cluster mode too.
func TestScriptStatusNamesTheNode(t *testing.T) {
	s := startServer(t, testdb.SQLite(t), func(c *config.Config) { c.Cluster.NodeName = "solo-1" })
	c := login(t, s)
	scripts, err := c.Scripts(context.Background(), "hello")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("scripts of hello: %v, %v", scripts, err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s%s/apps/hello/scripts/%d/status", s.AdminURL(), admin.Prefix, scripts[0].ID), nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st struct {
		State, Node string
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || res.StatusCode != 200 || st.State != "ok" || st.Node != "solo-1" {
		t.Fatalf("status = %d %+v, %v; want ok from solo-1", res.StatusCode, st, err)
	}
}

// TestMetricsNameTheNodeOutsideClusterMode: a server alone serves the
// cluster figures too (itself the one member, no remote calls), and every
// series carries its node name.
func TestMetricsNameTheNodeOutsideClusterMode(t *testing.T) {
	s := startServer(t, testdb.SQLite(t), func(c *config.Config) {
		c.Server.MetricsListen = "127.0.0.1:0"
		c.Cluster.NodeName = "solo-1"
	})
	if code, _ := get(t, s.URL()+"/", "hello.localhost"); code != 200 {
		t.Fatalf("GET / on hello = %d", code)
	}
	body := scrape(t, s)
	for _, want := range []string{
		`picloud_cluster_members{node="solo-1",status="alive"} 1`,
		`picloud_cluster_members{node="solo-1",status="dead"} 0`,
		`picloud_cluster_remote_calls_total{node="solo-1",outcome="ok"} 0`,
		`picloud_cluster_remote_calls_total{node="solo-1",outcome="error"} 0`,
		`picloud_cluster_remote_call_duration_seconds_count{node="solo-1"} 0`,
		`picloud_requests_total{class="2xx",node="solo-1"} 1`,
		`picloud_invocations_dropped_total{node="solo-1"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "picloud_") && !strings.Contains(line, `node="solo-1"`) {
			t.Errorf("series without the node label: %s", line)
		}
	}
}
