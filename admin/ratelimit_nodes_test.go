package admin_test

import (
	"fmt"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
)

// TestLoginLimitsAcrossNodes: two nodes on one database share the login
// limits (issue 11): five wrong passwords through one node lock the
// pair out on the other, and twenty failures from one address, spread
// over both nodes, lock the address out on both.
func TestLoginLimitsAcrossNodes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		a := startAPI(t, tg)
		b := startBareAPI(t, tg)
		a.addUser(t, "alice", alicePassword)
		const attacker, admin, spray = "127.0.0.2", "127.0.0.1", "127.0.0.3"

		for i := range 5 {
			a.expectLogin(t, fmt.Sprintf("guess %d through A", i), attacker, "alice", wrongPassword, 401)
		}
		if retry := b.expectLogin(t, "the right password through B", attacker, "alice", alicePassword, 429); retry != "180" {
			t.Fatalf("Retry-After = %q, want 180", retry)
		}
		b.expectLogin(t, "alice at her own address through B", admin, "alice", alicePassword, 200)

		for i := range 20 {
			node := []*apiServer{a, b}[i%2]
			node.expectLogin(t, "spray", spray, fmt.Sprintf("user%d", i), wrongPassword, 401)
		}
		a.expectLogin(t, "root at the spraying address through A", spray, rootName, rootPassword, 429)
		b.expectLogin(t, "root at the spraying address through B", spray, rootName, rootPassword, 429)
	})
}
