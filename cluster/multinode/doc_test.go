// Package multinode_test runs whole cluster nodes (protoactor, memberlist,
// the PiCloud lookup) side by side in one process on 127.0.0.1. It holds
// only tests: protoactor's cluster code has data races of its own, so
// `make test` runs this package without -race (Makefile NORACE_PKGS).
package multinode_test
