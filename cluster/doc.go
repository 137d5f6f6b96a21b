// Package cluster owns multi-node PiCloud's core: a node's membership in
// the cluster, and where the cluster's virtual actors live.
//
// A Node is one PiCloud process in cluster mode: a protoactor actor system
// whose remote is bound per config.Cluster, joined to the others by
// hashicorp/memberlist gossip (the ClusterProvider here: membership,
// failure detection within 2 s, Leave on shutdown), with an IdentityLookup
// that places each identity of a cluster kind on one member by rendezvous
// hashing over the members that host the kind and have its role. Node
// exposes the member table for the admin API.
//
// The package knows nothing of scripts, apps or HTTP: the composition root
// registers the kinds (script executors) and decides what to send them.
// It never touches the database; the nodes of a cluster share PostgreSQL
// for everything they must agree on.
//
// protoactor's cluster code has data races of its own under -race, so the
// tests that run whole nodes live in cluster/multinode, which `make test`
// runs without -race (Makefile NORACE_PKGS); this package's own tests
// (membership, placement, config) run with it.
package cluster
