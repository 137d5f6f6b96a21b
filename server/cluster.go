package server

import (
	"context"
	"net"
	"time"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/cluster/executors"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/engine"
)

// leaveTimeout bounds a node's graceful departure at shutdown.
const leaveTimeout = 10 * time.Second

// startCluster starts this server's cluster node when the cluster block
// is on (config.Load already refused cluster mode on SQLite), and returns
// the engine executors load scripts through: local alone outside cluster
// mode; in it, one that places each executor slot on the executor member
// that owns it (this node's own slots through local, off the network).
// The node hosts the executors other members place here, through local,
// if it has the executor role. At Shutdown the node leaves gracefully
// (after the routers drained, before the workers stop), so the others
// drop it within a second.
func (s *Server) startCluster(ctx context.Context, local engine.Engine) (engine.Engine, error) {
	if !s.cfg.Cluster.Enabled {
		return local, nil
	}
	node, err := cluster.Start(ctx, cluster.Options{Config: s.cfg.Cluster, Logger: s.logger,
		Kinds:    []cluster.Kind{executors.ClusterKind(local, s.logger)},
		HTTPPort: s.ln.Addr().(*net.TCPAddr).Port})
	if err != nil {
		return nil, err
	}
	s.node = node
	s.clusterMetrics = newClusterMetrics(s)
	s.spread = executors.New(node, local, s.logger).WithMetrics(s.clusterMetrics)
	s.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		if err := node.Stop(ctx); err != nil {
			s.logger.Warn("cluster: leave", "err", err)
		}
	})
	return s.spread, nil
}

// ExecutorCalls is how many script calls this server's executors ran on
// each node of the cluster (itself included); nil outside cluster mode.
func (s *Server) ExecutorCalls() map[string]int64 {
	if s.spread == nil {
		return nil
	}
	return s.spread.Calls()
}

// Node is the server's cluster node; nil when cluster mode is off.
func (s *Server) Node() *cluster.Node { return s.node }

// NodeName is the name this server's invocation records and metrics
// carry: its cluster node's name, or outside cluster mode the configured
// or default node name (cluster.NodeName).
func (s *Server) NodeName() string {
	if s.node != nil {
		return s.node.Name()
	}
	return cluster.NodeName(s.cfg.Cluster)
}

// ClusterMetrics are this server's cluster figures on /metrics: what
// sends calls to other nodes reports them with ObserveRemoteCall.
func (s *Server) ClusterMetrics() *cluster.Metrics { return s.clusterMetrics }

// newClusterMetrics are s's cluster figures: its node's member table, or
// outside cluster mode the server alone.
func newClusterMetrics(s *Server) *cluster.Metrics {
	name := s.NodeName()
	members := func() []cluster.MemberState {
		return []cluster.MemberState{{Name: name, Status: cluster.StatusAlive, Self: true}}
	}
	if s.node != nil {
		members = s.node.Members
	}
	return cluster.NewMetrics(name, members)
}

// clusterInfo is the member table as admin shows it.
type clusterInfo struct {
	node     *cluster.Node
	deployer *deploy.Deployer
}

// ClusterView implements admin.ClusterInfo. This node's executors and
// calls in flight come from its routers; the other members' are not
// known here.
func (c clusterInfo) ClusterView(ctx context.Context) (admin.ClusterView, error) {
	executors, inflight := 0, 0
	for _, st := range c.deployer.Status(ctx) {
		for _, p := range st.Pools {
			executors += p.Executors
			inflight += p.Executors - p.Idle
		}
	}
	members := c.node.Members()
	v := admin.ClusterView{Self: c.node.Name(), Members: make([]admin.ClusterMember, 0, len(members))}
	for _, m := range members {
		cm := admin.ClusterMember{Name: m.Name, Gossip: m.Gossip, Remote: m.Remote, Roles: m.Roles, Status: m.Status, JoinedAt: m.JoinedAt}
		if m.Self {
			cm.Executors, cm.Inflight = &executors, &inflight
		}
		v.Members = append(v.Members, cm)
	}
	return v, nil
}
