// Package cluster will own multi-node PiCloud: protoactor cluster wiring,
// a memberlist-backed ClusterProvider (gossip join), script executors as
// cluster kinds spread over members by identity, and propagation of
// control-plane changes to every node (DESIGN §7).
//
// Today PiCloud runs on one node and this package is empty on purpose:
// the single-node control plane lives in package deploy, whose
// AppChanged is the hook a cluster will fan out to every member.
package cluster
