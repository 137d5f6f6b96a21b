package cluster

import (
	"net"
	"strconv"

	"github.com/picloud/picloud/config"
)

// NodeName is the name a server outside cluster mode goes by: the
// configured cluster.node_name, or the default a node would take (the
// host name and the configured gossip port). Invocation records name the
// node that ran them even on a single server, so none is ever blank. A
// running Node's Name is the one to use in cluster mode (with gossip port
// 0 it names the port actually bound).
func NodeName(cfg config.Cluster) string {
	if cfg.NodeName != "" {
		return cfg.NodeName
	}
	port := config.DefaultGossipPort
	if _, p, err := net.SplitHostPort(cfg.Gossip); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	return defaultNodeName(port)
}
