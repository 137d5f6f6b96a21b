package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// testMember is a membership with dummy metadata and the last peer list
// it published.
type testMember struct {
	*membership
	mu    sync.Mutex
	names []string
}

func (tm *testMember) view() []string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return slices.Clone(tm.names)
}

type memberOpts struct {
	port        int
	joinTimeout time.Duration
	logger      *slog.Logger
}

// startTestMember starts gossip on 127.0.0.1 (port 0 unless given) and joins
// seeds; the join error, if any, is returned with the member stopped.
func startTestMember(t *testing.T, name string, seeds []string, o memberOpts) (*testMember, error) {
	t.Helper()
	if o.joinTimeout == 0 {
		o.joinTimeout = 2 * time.Second
	}
	if o.logger == nil {
		o.logger = testLogger(t)
	}
	m, err := newMembership(membershipConfig{
		name: name, bindHost: "127.0.0.1", bindPort: o.port, seeds: seeds,
		joinTimeout: o.joinTimeout, retryInterval: 100 * time.Millisecond, logger: o.logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	tm := &testMember{membership: m}
	meta := nodeMeta{ID: "id-" + name, Host: "127.0.0.1", Port: 1, Kinds: []string{"k"}, Roles: []string{"executor"}}
	err = m.start(meta, func(ps, _ []peer) {
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.name
		}
		tm.mu.Lock()
		tm.names = names
		tm.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.join(context.Background()); err != nil {
		m.shutdown()
		return nil, err
	}
	t.Cleanup(func() { m.shutdown() })
	return tm, nil
}

func mustStartMember(t *testing.T, name string, seeds []string, o memberOpts) *testMember {
	t.Helper()
	tm, err := startTestMember(t, name, seeds, o)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// testLogger keeps what a node logs and shows it if the test fails, after
// the node has stopped (its goroutines may log until then).
func testLogger(t *testing.T) *slog.Logger {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("\n" + buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// eventually waits for cond, polling, and reports how long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func formCluster(t *testing.T, names ...string) []*testMember {
	t.Helper()
	first := mustStartMember(t, names[0], nil, memberOpts{})
	ms := []*testMember{first}
	for _, n := range names[1:] {
		ms = append(ms, mustStartMember(t, n, []string{first.gossipAddr()}, memberOpts{}))
	}
	for _, m := range ms {
		eventually(t, 3*time.Second, m.cfg.name+" sees every member", func() bool { return slices.Equal(m.view(), names) })
	}
	return ms
}

func status(m *testMember, name string) string {
	for _, s := range m.states() {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

func TestMembershipFormsFromOneSeed(t *testing.T) {
	ms := formCluster(t, "n1", "n2", "n3")
	st := ms[0].states()
	if len(st) != 3 {
		t.Fatalf("states = %+v", st)
	}
	for _, s := range st {
		if s.Status != StatusAlive || s.Remote != "127.0.0.1:1" || !slices.Equal(s.Roles, []string{"executor"}) || s.JoinedAt.IsZero() {
			t.Errorf("member %+v", s)
		}
		if s.Self != (s.Name == "n1") {
			t.Errorf("member %s: self = %v", s.Name, s.Self)
		}
	}
}

// A node that stops without leaving (kill -9) is noticed by the others
// within 2 s.
func TestMembershipNoticesADeadNodeWithin2s(t *testing.T) {
	ms := formCluster(t, "n1", "n2", "n3")
	ms[2].shutdown()
	for _, m := range ms[:2] {
		took := eventually(t, 2*time.Second, m.cfg.name+" drops n3", func() bool { return slices.Equal(m.view(), []string{"n1", "n2"}) })
		t.Logf("%s noticed the death after %v", m.cfg.name, took)
		if s := status(m, "n3"); s != StatusDead {
			t.Errorf("%s shows n3 as %q, want dead", m.cfg.name, s)
		}
	}
}

// A node that leaves is dropped by the others within 1 s and shown as
// left, not dead.
func TestMembershipLeaveIsSeenWithin1s(t *testing.T) {
	ms := formCluster(t, "n1", "n2", "n3")
	start := time.Now()
	if err := ms[2].setLeaving(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := ms[2].leave(time.Second); err != nil {
		t.Fatal(err)
	}
	ms[2].shutdown()
	for _, m := range ms[:2] {
		eventually(t, time.Second-time.Since(start), m.cfg.name+" drops n3", func() bool { return slices.Equal(m.view(), []string{"n1", "n2"}) })
		if s := status(m, "n3"); s != StatusLeft {
			t.Errorf("%s shows n3 as %q, want left", m.cfg.name, s)
		}
	}
	t.Logf("left after %v", time.Since(start))
}

// A killed node restarted under its name, at a new port, is a member again.
func TestMembershipRestartedNodeRejoins(t *testing.T) {
	ms := formCluster(t, "n1", "n2", "n3")
	ms[2].shutdown()
	eventually(t, 2*time.Second, "n1 drops n3", func() bool { return status(ms[0], "n3") == StatusDead })
	again := mustStartMember(t, "n3", []string{ms[0].gossipAddr()}, memberOpts{})
	for _, m := range []*testMember{ms[0], ms[1], again} {
		eventually(t, 3*time.Second, m.cfg.name+" sees n3 again", func() bool { return slices.Equal(m.view(), []string{"n1", "n2", "n3"}) })
	}
	if s := status(ms[1], "n3"); s != StatusAlive {
		t.Errorf("n2 shows n3 as %q", s)
	}
}

// Two live nodes with one name: the second is refused with an error that
// says which name and where the other one is.
func TestMembershipRefusesADuplicateName(t *testing.T) {
	first := mustStartMember(t, "n1", nil, memberOpts{})
	start := time.Now()
	_, err := startTestMember(t, "n1", []string{first.gossipAddr()}, memberOpts{joinTimeout: 500 * time.Millisecond})
	if !errors.Is(err, errNameTaken) {
		t.Fatalf("join err = %v, want errNameTaken", err)
	}
	for _, want := range []string{first.gossipAddr(), `"n1"`, "cluster.node_name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("refusal took %v", took)
	}
	if v := first.view(); !slices.Equal(v, []string{"n1"}) {
		t.Errorf("the first node's view changed: %q", v)
	}
}

// A node whose seed does not answer starts alone after the bounded wait,
// says so, and joins by itself once the seed is up.
func TestMembershipUnreachableSeedStartsAloneThenJoins(t *testing.T) {
	port := freePort(t)
	seed := net.JoinHostPort("127.0.0.1", itoa(port))
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	start := time.Now()
	lone := mustStartMember(t, "n2", []string{seed}, memberOpts{joinTimeout: 300 * time.Millisecond, logger: logger})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("start with a dead seed took %v", took)
	}
	if !strings.Contains(logs.String(), "running alone and retrying the join in the background") {
		t.Errorf("log does not say the node runs alone:\n%s", logs.String())
	}
	if v := lone.view(); !slices.Equal(v, []string{"n2"}) {
		t.Fatalf("view = %q", v)
	}
	mustStartMember(t, "n1", nil, memberOpts{port: port})
	eventually(t, 3*time.Second, "n2 joins n1 once it is up", func() bool { return slices.Equal(lone.view(), []string{"n1", "n2"}) })
}

// A seed that was down when the cluster formed, and comes up empty-handed
// (the first node restarted), is found again: the two halves merge.
func TestMembershipRestartedSeedIsFoundAgain(t *testing.T) {
	port := freePort(t)
	seed := net.JoinHostPort("127.0.0.1", itoa(port))
	first := mustStartMember(t, "n1", nil, memberOpts{port: port})
	n2 := mustStartMember(t, "n2", []string{seed}, memberOpts{})
	n3 := mustStartMember(t, "n3", []string{n2.gossipAddr()}, memberOpts{})
	eventually(t, 3*time.Second, "three", func() bool { return len(n3.view()) == 3 })
	first.shutdown()
	eventually(t, 2*time.Second, "n1 dead", func() bool { return slices.Equal(n3.view(), []string{"n2", "n3"}) })
	again := mustStartMember(t, "n1", nil, memberOpts{port: port})
	eventually(t, 3*time.Second, "restarted n1 found", func() bool { return len(again.view()) == 3 && len(n3.view()) == 3 })
}

func TestMemberlistLinesGoToSlog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := memberlistLogger(logger)
	l.Printf("[DEBUG] memberlist: Stream connection from=127.0.0.1:1")
	l.Printf("[INFO] memberlist: Suspect n3 has failed, no acks received")
	l.Printf("[WARN] memberlist: Refuting a dead message (from: n2)")
	l.Printf("[ERR] memberlist: Push/Pull with n3 failed: EOF")
	want := []string{
		`level=DEBUG msg="Stream connection from=127.0.0.1:1" lib=memberlist`,
		`level=DEBUG msg="Suspect n3 has failed, no acks received" lib=memberlist`,
		`level=WARN msg="Refuting a dead message (from: n2)" lib=memberlist`,
		`level=WARN msg="Push/Pull with n3 failed: EOF" lib=memberlist`,
	}
	for _, w := range want {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("log lacks %s:\n%s", w, buf.String())
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	// A port free for both TCP and UDP right now.
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A member declared dead stays in protoactor's topology (which blocks the
// actor system id of a member that drops out, for good) for the dead hold:
// one that refutes its death in time is alive again with its id never
// dropped, while the placement (the live peers) drops it at once. A member
// that stays dead, or that left, drops out.
func TestMembershipDeadMemberIsHeldInTheTopology(t *testing.T) {
	const hold = 300 * time.Millisecond
	m := &membership{
		cfg:     membershipConfig{name: "n1", deadHold: hold},
		logger:  testLogger(t),
		changed: make(chan struct{}, 1),
		records: map[string]*record{},
	}
	ev := (*eventDelegate)(m)
	node := func(name string, leaving bool) *memberlist.Node {
		meta := nodeMeta{ID: "id-" + name, Host: "127.0.0.1", Port: 1, Kinds: []string{"k"}, Roles: []string{"executor"}, Leaving: leaving}
		return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Meta: meta.encode()}
	}
	names := func(ps []peer) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.name)
		}
		return strings.Join(out, ",")
	}
	check := func(step, wantLive, wantTopology string) {
		t.Helper()
		if got := names(m.peers()); got != wantLive {
			t.Errorf("%s: live %q, want %q", step, got, wantLive)
		}
		if got := names(m.topology()); got != wantTopology {
			t.Errorf("%s: topology %q, want %q", step, got, wantTopology)
		}
	}
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		ev.NotifyJoin(node(n, false))
	}
	check("formed", "n1,n2,n3,n4", "n1,n2,n3,n4")

	ev.NotifyLeave(node("n2", false)) // declared dead by mistake
	ev.NotifyLeave(node("n3", false)) // really dead
	ev.NotifyLeave(node("n4", true))  // left gracefully
	check("n2 and n3 declared dead, n4 left", "n1", "n1,n2,n3")
	if s := stateOf(m, "n2"); s != StatusDead {
		t.Errorf("n2 declared dead is %q", s)
	}

	ev.NotifyJoin(node("n2", false)) // refuted: alive again, same id
	check("n2 refuted", "n1,n2", "n1,n2,n3")
	if s := stateOf(m, "n2"); s != StatusAlive {
		t.Errorf("n2 after refuting is %q", s)
	}

	// The hold's end is published, so protoactor hears that n3 is gone.
	select {
	case <-m.changed:
	default:
	}
	select {
	case <-m.changed:
	case <-time.After(10 * hold):
		t.Fatal("the end of n3's hold was not published")
	}
	check("hold over", "n1,n2", "n1,n2")
}

func stateOf(m *membership, name string) string {
	for _, s := range m.states() {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}
