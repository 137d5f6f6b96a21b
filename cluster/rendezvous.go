package cluster

import (
	"strings"

	"github.com/cespare/xxhash/v2"
)

// candidate is a member that may own identities of one kind.
type candidate struct {
	id   string // protoactor member id
	addr string // protoactor remote address
	seed uint64 // hashName of the member's node name
}

// hashName is the rendezvous seed of a member: its node name, which a
// restarted node keeps, so its identities come back to it.
func hashName(name string) uint64 { return xxhash.Sum64String(name) }

// hashKey is the rendezvous key of an identity of a kind.
func hashKey(kind, identity string) uint64 {
	return xxhash.Sum64String(kind + "/" + identity)
}

// owner picks, by rendezvous (highest random weight) hashing, the member
// that owns key: each candidate scores mix(key ^ seed) and the highest
// wins. A good 64-bit hash and finaliser make the scores independent, so
// each of n members owns 1/n of the keys, and when a member goes only its
// keys move (each to the member that scored second for it). ok is false
// when there is no candidate.
func owner(key uint64, cands []candidate) (c candidate, ok bool) {
	var best uint64
	for _, x := range cands {
		w := mix64(key ^ x.seed)
		if !ok || w > best || (w == best && strings.Compare(x.id, c.id) < 0) {
			c, best, ok = x, w, true
		}
	}
	return c, ok
}

// mix64 is MurmurHash3's 64-bit finaliser: every input bit flips each
// output bit with probability about 1/2.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
