package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsCountMembersAndRemoteCalls(t *testing.T) {
	members := []MemberState{{Name: "a", Status: StatusAlive, Self: true}, {Name: "b", Status: StatusAlive}, {Name: "c", Status: StatusDead}}
	m := NewMetrics("pi1-7946", func() []MemberState { return members })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	m.ObserveRemoteCall(2*time.Millisecond, nil)
	m.ObserveRemoteCall(3*time.Millisecond, nil)
	m.ObserveRemoteCall(time.Second, errors.New("node gone"))
	(*Metrics)(nil).ObserveRemoteCall(time.Second, nil) // a server without the figures

	want := `
# HELP picloud_cluster_members Cluster members as this node sees them, by status (a server outside cluster mode counts itself alive).
# TYPE picloud_cluster_members gauge
picloud_cluster_members{node="pi1-7946",status="alive"} 2
picloud_cluster_members{node="pi1-7946",status="dead"} 1
picloud_cluster_members{node="pi1-7946",status="left"} 0
picloud_cluster_members{node="pi1-7946",status="suspect"} 0
# HELP picloud_cluster_remote_calls_total Calls this node sent to script executors on other nodes, by outcome (ok: answered, whatever the script said; error: the call failed between the nodes).
# TYPE picloud_cluster_remote_calls_total counter
picloud_cluster_remote_calls_total{node="pi1-7946",outcome="error"} 1
picloud_cluster_remote_calls_total{node="pi1-7946",outcome="ok"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "picloud_cluster_members", "picloud_cluster_remote_calls_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.latency); n != 1 {
		t.Errorf("latency histogram series = %d, want 1", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "picloud_cluster_remote_call_duration_seconds" {
			if h := mf.GetMetric()[0].GetHistogram(); h.GetSampleCount() != 3 || h.GetSampleSum() < 1 {
				t.Errorf("latency: %d calls, %.3fs in all; want 3, over 1s", h.GetSampleCount(), h.GetSampleSum())
			}
			return
		}
	}
	t.Error("no latency histogram gathered")
}
