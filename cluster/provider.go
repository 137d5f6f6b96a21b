package cluster

import (
	"errors"
	"log/slog"
	"slices"

	"github.com/asynkron/protoactor-go/cluster"
)

// provider is protoactor's ClusterProvider on memberlist: a node joins by
// gossip, announces its actor system id, remote address, kinds and roles
// in its memberlist metadata, and every membership change becomes
// protoactor's topology (MemberList.UpdateClusterTopology) and the
// lookup's placement (onPeers). The placement takes only live members; the
// topology keeps a member declared dead for deadHold more, so that one
// that refutes its death is not blocked by protoactor.
type provider struct {
	ms       *membership
	roles    []string
	httpPort int // 0: none announced
	onPeers  func([]peer)
}

var _ cluster.ClusterProvider = (*provider)(nil)

// StartMember enters gossip. protoactor calls it from its StartMember,
// after the remote is bound and the lookup set up; Node.Start then joins.
func (p *provider) StartMember(c *cluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	kinds := c.GetClusterKinds()
	slices.Sort(kinds)
	meta := nodeMeta{ID: c.ActorSystem.ID, Host: host, Port: port, Kinds: kinds, Roles: p.roles}
	if p.httpPort > 0 {
		meta.HTTP = joinHostPort(host, p.httpPort)
	}
	return p.ms.start(meta, func(live, topology []peer) {
		c.MemberList.UpdateClusterTopology(members(topology))
		p.onPeers(live)
	})
}

// StartClient is refused: every PiCloud node is a full member.
func (p *provider) StartClient(*cluster.Cluster) error {
	return errors.New("cluster: client mode is not supported: every PiCloud node is a member")
}

// Shutdown leaves (graceful) or just stops gossiping.
func (p *provider) Shutdown(graceful bool) error {
	if graceful {
		if err := p.ms.leave(leaveBroadcast); err != nil {
			p.ms.logger.Warn("cluster: leave", slog.Any("err", err))
		}
	}
	return p.ms.shutdown()
}

// members is peers as protoactor's topology. Leaving members stay in it
// until they are gone: the endpoints to them carry the last answers.
func members(peers []peer) cluster.Members {
	out := make(cluster.Members, len(peers))
	for i, p := range peers {
		out[i] = &cluster.Member{Id: p.meta.ID, Host: p.meta.Host, Port: int32(p.meta.Port), Kinds: slices.Clone(p.meta.Kinds)}
	}
	return out
}
