package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Environment variables of the cluster block. Lists are comma-separated.
const (
	EnvClusterEnabled   = "PICLOUD_CLUSTER_ENABLED"
	EnvClusterGossip    = "PICLOUD_CLUSTER_GOSSIP"
	EnvClusterRemote    = "PICLOUD_CLUSTER_REMOTE"
	EnvClusterAdvertise = "PICLOUD_CLUSTER_ADVERTISE"
	EnvClusterJoin      = "PICLOUD_CLUSTER_JOIN"
	EnvNodeName         = "PICLOUD_NODE_NAME"
	EnvClusterRoles     = "PICLOUD_CLUSTER_ROLES"
)

// Roles a cluster node may have (Cluster.Roles).
const (
	// RoleManager serves the admin API and UI and writes to the database.
	RoleManager = "manager"
	// RoleIngress serves public HTTP and forwards executions.
	RoleIngress = "ingress"
	// RoleExecutor runs script executors for the whole cluster.
	RoleExecutor = "executor"
)

// DefaultGossipPort is the memberlist port a join address without a port
// means.
const DefaultGossipPort = 7946

// maxNodeName bounds Cluster.NodeName; it travels in every gossip message.
const maxNodeName = 64

// Cluster joins this process to other PiCloud nodes (block "cluster").
type Cluster struct {
	// Enabled turns cluster mode on. It needs PostgreSQL (Database.URL).
	Enabled bool
	// Gossip is the host:port memberlist binds (membership and failure
	// detection, UDP and TCP); the host is an IP address, "" or 0.0.0.0
	// for every interface.
	Gossip string
	// Remote is the host:port protoactor's remote binds (calls between
	// nodes, TCP); the host as for Gossip.
	Remote string
	// Advertise is the host other nodes reach this one at; "" means the
	// bind host, or the first private address when bound to every
	// interface.
	Advertise string
	// Join lists gossip addresses (host:port, or host for port
	// DefaultGossipPort) of existing members; empty on the first node.
	Join []string
	// NodeName is this node's unique name; "" means the host name and
	// the gossip port ("pi1-7946").
	NodeName string
	// Roles are what this node does: RoleManager, RoleIngress,
	// RoleExecutor, in any combination but none.
	Roles []string
}

// HasRole reports whether role is one of c.Roles.
func (c Cluster) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

func defaultCluster() Cluster {
	return Cluster{
		Enabled:   false,
		Gossip:    "0.0.0.0:7946",
		Remote:    "0.0.0.0:7947",
		Advertise: "",
		Join:      nil,
		NodeName:  "",
		Roles:     []string{RoleManager, RoleIngress, RoleExecutor},
	}
}

// clusterSettings are the keys of block "cluster", in config.hcl order.
func (c *Config) clusterSettings() []setting {
	cl := &c.Cluster
	return []setting{
		{"cluster", "enabled", EnvClusterEnabled, boolean(&cl.Enabled)},
		{"cluster", "gossip", EnvClusterGossip, text(&cl.Gossip, checkBindAddr)},
		{"cluster", "remote", EnvClusterRemote, text(&cl.Remote, checkBindAddr)},
		{"cluster", "advertise", EnvClusterAdvertise, text(&cl.Advertise, checkAdvertise)},
		{"cluster", "join", EnvClusterJoin, list(&cl.Join, checkJoin)},
		{"cluster", "node_name", EnvNodeName, text(&cl.NodeName, checkNodeName)},
		{"cluster", "roles", EnvClusterRoles, list(&cl.Roles, checkRoles)},
	}
}

// impliedCluster turns cluster mode on when PICLOUD_CLUSTER_GOSSIP or
// PICLOUD_CLUSTER_JOIN is set and PICLOUD_CLUSTER_ENABLED is not: naming
// where to gossip or whom to join says what is meant.
func (c *Config) impliedCluster(env func(string) string) {
	if env(EnvClusterEnabled) == "" && (env(EnvClusterGossip) != "" || env(EnvClusterJoin) != "") {
		c.Cluster.Enabled = true
	}
}

// validateCluster checks what no single key can: cluster mode needs a
// database every node shares, and the two ports must differ.
func (c *Config) validateCluster() []error {
	if !c.Cluster.Enabled {
		return nil
	}
	var errs []error
	if !strings.HasPrefix(c.Database.URL, "postgres://") && !strings.HasPrefix(c.Database.URL, "postgresql://") {
		errs = append(errs, errors.New("cluster mode needs PostgreSQL: set database.url (or PICLOUD_DATABASE_URL) "+
			"to the postgres:// URL every node shares; SQLite is one machine's file"))
	}
	_, gp, _ := net.SplitHostPort(c.Cluster.Gossip)
	_, rp, _ := net.SplitHostPort(c.Cluster.Remote)
	if gp == rp && gp != "0" {
		errs = append(errs, fmt.Errorf("cluster.gossip %q and cluster.remote %q use the same port %s: give each its own", c.Cluster.Gossip, c.Cluster.Remote, gp))
	}
	return errs
}

// boolean is true or false (also 1/0, t/f as strconv.ParseBool reads them).
func boolean(dst *bool) value {
	return value{
		parse: func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			*dst = b
			return nil
		},
		show: func() any { return *dst },
	}
}

// list is a list of strings that passes check: an HCL list in the file,
// comma-separated text in the environment (and in the file, where a
// string is accepted too). Blank items are dropped; an empty list is nil.
func list(dst *[]string, check func([]string) error) value {
	set := func(items []string) error {
		var clean []string
		for _, it := range items {
			if it = strings.TrimSpace(it); it != "" {
				clean = append(clean, it)
			}
		}
		if err := check(clean); err != nil {
			return err
		}
		*dst = clean
		return nil
	}
	return value{
		parse: func(s string) error { return set(strings.Split(s, ",")) },
		items: set,
		show:  func() any { return append([]string{}, *dst...) },
	}
}

// checkBindAddr accepts host:port where the host is "" or an IP address:
// memberlist and gRPC bind addresses, and a name would be resolved to one
// address at best.
func checkBindAddr(s string) error {
	if err := checkHostPort(s); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s)
	if host != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: the host must be an IP address such as 0.0.0.0 or 10.0.0.5, not a name", s)
	}
	return nil
}

// checkAdvertise accepts "" or a bare host: an IP address or a DNS name,
// without port or scheme (the ports are those of gossip and remote).
func checkAdvertise(s string) error {
	if s == "" || net.ParseIP(s) != nil {
		return nil
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isHostLabel(label) {
			return fmt.Errorf("%q is not an IP address or host name (no port or scheme: the ports are those of cluster.gossip and cluster.remote)", s)
		}
	}
	return nil
}

// isHostLabel reports whether s is a DNS label, either case.
func isHostLabel(s string) bool {
	return isLabel(strings.ToLower(s))
}

// checkJoin accepts gossip addresses: host:port, or a host alone for port
// DefaultGossipPort; hosts are IP addresses or DNS names.
func checkJoin(addrs []string) error {
	for _, a := range addrs {
		if strings.Contains(a, "/") {
			return fmt.Errorf("%q is not a gossip address such as \"10.0.0.5:7946\" or \"pi1.lan\"", a)
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			host, port = a, strconv.Itoa(DefaultGossipPort)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("%q: port %q is not a number from 1 to 65535", a, port)
		}
		if host == "" || checkAdvertise(host) != nil {
			return fmt.Errorf("%q is not a gossip address such as \"10.0.0.5:7946\" or \"pi1.lan\"", a)
		}
	}
	return nil
}

// checkNodeName accepts "" (the default name) or a name of letters,
// digits, '.', '-' and '_': it appears in URLs (?node=) and logs.
func checkNodeName(s string) error {
	ok := len(s) <= maxNodeName
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '-' && r != '_' {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%q may hold only letters, digits, '.', '-' and '_' (at most %d)", s, maxNodeName)
	}
	return nil
}

// checkRoles accepts a non-empty list of distinct roles.
func checkRoles(roles []string) error {
	all := []string{RoleManager, RoleIngress, RoleExecutor}
	if len(roles) == 0 {
		return fmt.Errorf("a node needs at least one role of %s", quoteList(all))
	}
	for i, r := range roles {
		if !slices.Contains(all, r) {
			return fmt.Errorf("%q is not one of %s", r, quoteList(all))
		}
		if slices.Contains(roles[:i], r) {
			return fmt.Errorf("%q is listed twice", r)
		}
	}
	return nil
}
