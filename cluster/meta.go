package cluster

import (
	"encoding/json"
	"fmt"
	"slices"
)

// nodeMeta is what a node tells the others about itself in memberlist's
// node metadata (at most memberlist.MetaMaxSize bytes): enough for
// protoactor to reach it and for the lookup to place identities on it.
type nodeMeta struct {
	// ID is the node's protoactor actor system id (the cluster member id).
	ID string `json:"id"`
	// Host and Port are its protoactor remote address, as others dial it.
	Host string `json:"host"`
	Port int    `json:"port"`
	// Kinds are the cluster kinds it hosts; Roles its config roles.
	Kinds []string `json:"kinds"`
	Roles []string `json:"roles"`
	// HTTP is the host:port of its HTTP listener as others reach it
	// (the advertised host): where a node without the manager role
	// forwards admin writes. "" when it did not say.
	HTTP string `json:"http,omitempty"`
	// Leaving is set when it has begun a graceful stop: it takes no new
	// identities, finishes what it holds, then leaves.
	Leaving bool `json:"leaving,omitempty"`
}

func (m nodeMeta) encode() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings, ints and a bool always marshal
	}
	return b
}

func decodeMeta(b []byte) (nodeMeta, error) {
	var m nodeMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nodeMeta{}, fmt.Errorf("decode node metadata: %w", err)
	}
	if m.ID == "" || m.Host == "" || m.Port <= 0 || m.Port > 65535 {
		return nodeMeta{}, fmt.Errorf("node metadata %q lacks an id or a remote address", b)
	}
	return m, nil
}

// remote is the protoactor address of the node: host:port.
func (m nodeMeta) remote() string {
	return joinHostPort(m.Host, m.Port)
}

func (m nodeMeta) hosts(kind, role string) bool {
	return slices.Contains(m.Kinds, kind) && (role == "" || slices.Contains(m.Roles, role))
}
