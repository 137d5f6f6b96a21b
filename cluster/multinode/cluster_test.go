package multinode_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/config"
)

var names3 = []string{"n1", "n2", "n3"}

// Three nodes form a cluster from one seed; an identity of the test kind
// is reached from every node and runs on the node the lookup picks.
func TestClusterFormsAndPlacesIdentitiesOnTheirOwner(t *testing.T) {
	nodes := startCluster(t, names3...)
	ran := map[string]int{}
	for i := range 30 {
		id := ident(i)
		want := owners(nodes, id)
		for _, n := range nodes {
			got, err := call(n, id, 2*time.Second)
			if err != nil {
				t.Fatalf("%s -> %s: %v", n.Name(), id, err)
			}
			if got != want {
				t.Errorf("%s -> %s ran on %s, the lookup picks %s", n.Name(), id, got, want)
			}
		}
		ran[want]++
	}
	for _, name := range names3 {
		if ran[name] == 0 {
			t.Errorf("no identity of 30 runs on %s: %v", name, ran)
		}
	}
	t.Logf("30 identities per node: %v", ran)
	for _, m := range nodes[0].Members() {
		if m.Status != cluster.StatusAlive || !strings.HasPrefix(m.Gossip, "127.0.0.1:") || !strings.HasPrefix(m.Remote, "127.0.0.1:") ||
			len(m.Roles) != 3 || m.JoinedAt.IsZero() || m.Self != (m.Name == "n1") {
			t.Errorf("member %+v", m)
		}
	}
}

// A node that leaves gives its identities up within 1 s: the others place
// them on themselves and answer; the other identities stay where they are.
func TestLeaveMovesOnlyTheLeaversIdentitiesWithin1s(t *testing.T) {
	nodes := startCluster(t, names3...)
	before := map[string]string{}
	for i := range 30 {
		id := ident(i)
		before[id] = owners(nodes, id)
		if _, err := call(nodes[0], id, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := nodes[2].Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	rest := nodes[:2]
	took := eventually(t, time.Second, "n1 and n2 drop n3", func() bool {
		return status(rest[0], "n3") == cluster.StatusLeft && status(rest[1], "n3") == cluster.StatusLeft
	})
	t.Logf("others dropped n3 %v after Leave began (Leave took %v)", time.Since(start), took)
	for id, was := range before {
		now := owners(rest, id)
		switch {
		case was == "n3" && (now == "n3" || now == ""):
			t.Errorf("%s still owned by %q", id, now)
		case was != "n3" && now != was:
			t.Errorf("%s moved from %s to %s, though %s stayed", id, was, now, was)
		}
		for _, n := range rest {
			if got, err := call(n, id, time.Second); err != nil || got != now {
				t.Errorf("%s -> %s: ran on %q (%v), want %s", n.Name(), id, got, err, now)
			}
		}
	}
}

// A node that stops without leaving (kill -9: its gossip and remote just
// close) is noticed within 2 s, and its identities answer again from the
// others.
func TestKilledNodeIsNoticedWithin2s(t *testing.T) {
	nodes := startCluster(t, names3...)
	var dead []string
	for i := range 30 {
		id := ident(i)
		if owners(nodes, id) == "n3" {
			dead = append(dead, id)
			if _, err := call(nodes[0], id, 2*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(dead) == 0 {
		t.Fatal("n3 owns none of 30 identities")
	}
	start := time.Now()
	nodes[2].Close()
	rest := nodes[:2]
	eventually(t, 2*time.Second, "n1 and n2 declare n3 dead", func() bool {
		return status(rest[0], "n3") == cluster.StatusDead && status(rest[1], "n3") == cluster.StatusDead
	})
	t.Logf("n3 declared dead %v after it stopped", time.Since(start))
	for _, id := range dead {
		got, err := call(rest[0], id, 2*time.Second)
		if err != nil || got == "n3" || got != owners(rest, id) {
			t.Errorf("n1 -> %s after n3 died: ran on %q (%v)", id, got, err)
		}
	}
}

// A call to a dead owner that the cluster has not noticed yet takes no
// longer than the caller allows (the stock lookup waits 5 s).
func TestCallToADeadOwnerKeepsTheCallersDeadline(t *testing.T) {
	nodes := startCluster(t, names3...)
	var id string
	for i := range 30 {
		if owners(nodes, ident(i)) == "n3" {
			id = ident(i)
			break
		}
	}
	if id == "" {
		t.Fatal("n3 owns none of 30 identities")
	}
	nodes[2].Close()
	start := time.Now()
	_, err := call(nodes[0], id, 300*time.Millisecond)
	took := time.Since(start)
	if err == nil {
		// n1 had already noticed: the call went elsewhere; also fine.
		t.Logf("answered after %v", took)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if took > 500*time.Millisecond {
		t.Errorf("a 300ms call took %v", took)
	}
}

// A node whose join address does not answer starts alone after the
// bounded wait, and joins when a node comes up there.
func TestUnreachableSeedStartsAloneAndJoinsLater(t *testing.T) {
	port := freePort(t)
	start := time.Now()
	n2 := mustStartNode(t, "n2", nodeOpts{join: []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, joinTimeout: 300 * time.Millisecond})
	t.Logf("started alone after %v", time.Since(start))
	if aliveCount(n2) != 1 {
		t.Fatalf("members %+v", n2.Members())
	}
	if got, err := call(n2, "v1/0", time.Second); err != nil || got != "n2" {
		t.Errorf("alone, n2 -> v1/0 ran on %q (%v)", got, err)
	}
	n1 := mustStartNode(t, "n1", nodeOpts{gossipPort: port})
	eventually(t, 3*time.Second, "n2 joins n1", func() bool { return aliveCount(n2) == 2 && aliveCount(n1) == 2 })
}

// A second live node with a taken name is refused with an error naming it.
func TestDuplicateNodeNameIsRefused(t *testing.T) {
	n1 := mustStartNode(t, "n1", nodeOpts{})
	_, err := startNode(t, "n1", nodeOpts{join: []string{n1.GossipAddr()}, joinTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), `"n1"`) || !strings.Contains(err.Error(), n1.GossipAddr()) {
		t.Fatalf("err = %v, want the taken name and where its owner is", err)
	}
	if aliveCount(n1) != 1 {
		t.Errorf("n1's members: %+v", n1.Members())
	}
}

// A kind is placed only on members with its role.
func TestKindGoesOnlyToMembersWithItsRole(t *testing.T) {
	n1 := mustStartNode(t, "n1", nodeOpts{roles: []string{config.RoleManager, config.RoleIngress}})
	n2 := mustStartNode(t, "n2", nodeOpts{join: []string{n1.GossipAddr()}, roles: []string{config.RoleExecutor}})
	eventually(t, 3*time.Second, "two members", func() bool { return aliveCount(n1) == 2 })
	for i := range 10 {
		if got, err := call(n1, ident(i), 2*time.Second); err != nil || got != "n2" {
			t.Errorf("n1 -> %s ran on %q (%v), want n2, the only executor", ident(i), got, err)
		}
	}
	n2.Close()
	eventually(t, 2*time.Second, "n2 dead", func() bool { return status(n1, "n2") == cluster.StatusDead })
	if _, err := call(n1, ident(0), 300*time.Millisecond); !errors.Is(err, cluster.ErrNoMember) {
		t.Errorf("without an executor: err = %v, want ErrNoMember", err)
	}
	if names := memberNames(n1); !slices.Equal(names, []string{"n1", "n2"}) {
		t.Errorf("members %q", names)
	}
}

func memberNames(n *cluster.Node) []string {
	var out []string
	for _, m := range n.Members() {
		out = append(out, m.Name)
	}
	return out
}

// Start fails cleanly, naming the address, when a port is taken; the
// ports it did bind are free again afterwards.
func TestStartFailsOnATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	for _, tc := range []struct{ key, gossip, remote string }{
		{"gossip", addr, "127.0.0.1:0"},
		{"remote", "127.0.0.1:0", addr},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := config.Default().Cluster
			cfg.NodeName, cfg.Gossip, cfg.Remote = "n1", tc.gossip, tc.remote
			n, err := cluster.Start(context.Background(), cluster.Options{Config: cfg, Logger: testLogger(t)})
			if err == nil {
				n.Close()
				t.Fatal("started on a taken port")
			}
			if !strings.HasPrefix(err.Error(), "cluster."+tc.key+" ") || !strings.Contains(err.Error(), addr) {
				t.Errorf("err = %v, want the key and the taken address", err)
			}
		})
	}
	// Nothing left bound: a node starts on the ports it picks itself.
	mustStartNode(t, "n2", nodeOpts{})
}

// A member protoactor has blocked (it was declared dead and came back with
// the same actor system) takes no work; the member table says dead, not
// alive.
func TestBlockedMemberIsShownDead(t *testing.T) {
	nodes := startCluster(t, "n1", "n2")
	if s := status(nodes[0], "n2"); s != cluster.StatusAlive {
		t.Fatalf("n2 is %q", s)
	}
	nodes[0].Cluster().Remote.BlockList().Block(nodes[1].System().ID)
	if s := status(nodes[0], "n2"); s != cluster.StatusDead {
		t.Errorf("blocked n2 shown %q, want dead", s)
	}
	if s := status(nodes[1], "n1"); s != cluster.StatusAlive {
		t.Errorf("n2 shows n1 %q", s)
	}
}

// A node that stops gracefully (Leave, then Close) finishes the calls it is
// running: a call in flight from another node is answered, by the leaver,
// and the next call of that identity runs elsewhere.
func TestLeaveFinishesCallsInFlight(t *testing.T) {
	nodes := startCluster(t, names3...)
	var id string
	for i := range 30 {
		if owners(nodes, ident(i)) == "n3" {
			id = ident(i)
			break
		}
	}
	if id == "" {
		t.Fatal("n3 owns none of 30 identities")
	}
	started := make(chan struct{}, 1)
	slowStarted.Store(&started)
	defer slowStarted.Store(nil)
	type answer struct {
		node string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		res, err := nodes[0].Request(ctx, kindEcho, id, wrapperspb.Int64(500))
		if err != nil {
			done <- answer{err: err}
			return
		}
		done <- answer{node: res.(*wrapperspb.StringValue).GetValue()}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := nodes[2].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if a := <-done; a.err != nil || a.node != "n3" {
		t.Errorf("call in flight during the leave: answered by %q, err %v; want n3's answer", a.node, a.err)
	}
	if got, err := call(nodes[0], id, time.Second); err != nil || got == "n3" {
		t.Errorf("next call ran on %q (%v), want n1 or n2", got, err)
	}
}

// A leaving node keeps its activations while the others hear of the
// leave: a call another node sent to one before it heard still runs
// there. Once a node has heard, it sends its next calls to the new
// owners, never to the leaver's activations it had cached.
func TestLeaveServesCallsSentBeforeTheOthersHeard(t *testing.T) {
	nodes := startCluster(t, names3...)
	var id string
	for i := range 30 {
		if owners(nodes, ident(i)) == "n3" {
			id = ident(i)
			break
		}
	}
	if id == "" {
		t.Fatal("n3 owns none of 30 identities")
	}
	if got, err := call(nodes[0], id, 2*time.Second); err != nil || got != "n3" {
		t.Fatalf("first call: %q %v", got, err)
	}
	pid, ok := nodes[0].Cluster().PidCache.Get(id, kindEcho)
	if !ok || pid.Address != nodes[2].RemoteAddr() {
		t.Fatalf("n1 caches %v for %s, want n3's activation", pid, id)
	}
	left := make(chan error, 1)
	go func() { left <- nodes[2].Stop(context.Background()) }()
	eventually(t, 2*time.Second, "n1 places n3's identity elsewhere", func() bool {
		o, _ := nodes[0].Owner(kindEcho, id)
		return o != "n3"
	})
	// What a node that has not heard yet sends: n3's activation answers.
	res, err := nodes[0].System().Root.RequestFuture(pid, wrapperspb.String("ping"), time.Second).Result()
	if s, ok := res.(*wrapperspb.StringValue); err != nil || !ok || s.GetValue() != "n3" {
		t.Errorf("call sent to n3's activation after the leave was announced: %v %v, want n3's answer", res, err)
	}
	// What n1 sends now goes to the new owner.
	if got, err := call(nodes[0], id, time.Second); err != nil || got == "n3" {
		t.Errorf("n1's next call ran on %q (%v), want the new owner", got, err)
	}
	if err := <-left; err != nil {
		t.Fatal(err)
	}
}
