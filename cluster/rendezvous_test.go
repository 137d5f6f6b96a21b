package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func candidates(names ...string) []candidate {
	cs := make([]candidate, len(names))
	for i, n := range names {
		cs[i] = candidate{id: "id-" + n, addr: n + ":7947", seed: hashName(n)}
	}
	return cs
}

// identities are script-version/slot keys, the shape executors use.
func identities(n int) []uint64 {
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = hashKey("executor", fmt.Sprintf("%d/%d", 1000+i/4, i%4))
	}
	return keys
}

// Each of 3 members owns its fair share of 3000 identities within 15%,
// for the names an operator would pick and for random ones. 3000 makes
// the check a property of the hash rather than of luck: with independent
// scores one member's count has a standard deviation of 26 (2.6%), so
// 15% is 5.8 deviations away. The worst member over all sets is logged.
func TestRendezvousSpreadsEvenly(t *testing.T) {
	const n, members = 3000, 3
	sets := [][]string{
		{"pi1-7946", "pi2-7946", "pi3-7946"},
		{"node-a", "node-b", "node-c"},
		{"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		sets = append(sets, []string{
			fmt.Sprintf("n%x", rng.Uint64()), fmt.Sprintf("n%x", rng.Uint64()), fmt.Sprintf("n%x", rng.Uint64()),
		})
	}
	fair := float64(n) / members
	worst := 0.0
	for _, names := range sets {
		cs := candidates(names...)
		count := map[string]int{}
		for _, k := range identities(n) {
			c, _ := owner(k, cs)
			count[c.id]++
		}
		for _, c := range cs {
			dev := float64(count[c.id])/fair - 1
			worst = max(worst, dev, -dev)
			if dev > 0.15 || dev < -0.15 {
				t.Errorf("members %q: %s owns %d of %d identities, %+.1f%% off its fair share %.0f", names, c.id, count[c.id], n, 100*dev, fair)
			}
		}
	}
	t.Logf("%d identities on 3 members, %d member sets: worst member %.1f%% off its fair share", n, len(sets), 100*worst)
}

// When a member goes, only its identities move, and they spread over the
// rest; when one comes, only the identities it now owns move, to it.
func TestRendezvousMovesOnlyTheGoneMembersIdentities(t *testing.T) {
	all := candidates("pi1", "pi2", "pi3", "pi4")
	keys := identities(2000)
	before := map[uint64]string{}
	for _, k := range keys {
		c, _ := owner(k, all)
		before[k] = c.id
	}
	gone := all[2]
	rest := append(append([]candidate{}, all[:2]...), all[3:]...)
	moved := map[string]int{}
	for _, k := range keys {
		c, _ := owner(k, rest)
		switch {
		case before[k] == gone.id:
			moved[c.id]++
		case c.id != before[k]:
			t.Fatalf("identity %x moved from %s to %s, but %s was not the one that left", k, before[k], c.id, before[k])
		}
	}
	for _, c := range rest {
		if moved[c.id] == 0 {
			t.Errorf("none of %s's identities went to %s: they do not spread", gone.id, c.id)
		}
	}
	// When it comes back (or any member joins), identities move only to it.
	for _, k := range keys {
		was, _ := owner(k, rest)
		now, _ := owner(k, all)
		if now.id != was.id && now.id != gone.id {
			t.Fatalf("identity %x moved from %s to %s when %s joined", k, was.id, now.id, gone.id)
		}
	}
}

func TestRendezvousWithoutCandidates(t *testing.T) {
	if c, ok := owner(hashKey("executor", "1/0"), nil); ok {
		t.Errorf("owner among no members = %+v", c)
	}
	one := candidates("pi1")
	if c, ok := owner(hashKey("executor", "1/0"), one); !ok || c.id != one[0].id {
		t.Errorf("owner among one = %+v, %v", c, ok)
	}
}
