package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberlist tuned for a small LAN cluster (DESIGN §7). With memberlist's
// LAN defaults a kill -9 is noticed after about 5 s; with these, within
// 2 s: each peer is probed every (members-1) x probeInterval, an
// unanswered probe makes it suspect at the end of its probe round, and a
// suspect with no refutation is dead after suspicionMult x probeInterval
// (x log10(members) past 10 members), never more than
// suspicionMaxTimeoutMult times that.
const (
	probeInterval           = 200 * time.Millisecond
	probeTimeout            = 100 * time.Millisecond
	suspicionMult           = 2
	suspicionMaxTimeoutMult = 2
	// A node that misses its own probes' acks (overloaded) stretches its
	// probe timing up to this factor rather than calling others dead.
	awarenessMaxMultiplier = 2
	// A full state exchange with one random member; heals lost gossip.
	pushPullInterval = 15 * time.Second
	// Bounds a join attempt's and a push/pull's TCP exchange.
	tcpTimeout = 2 * time.Second
	// A dead member's name may be taken at once by a node at another
	// address (a node restarted on a new port or IP); memberlist's default
	// keeps it until the dead entry is reaped. A live member's name is
	// never taken: that is a conflict, and join refuses it.
	deadNodeReclaimTime = time.Millisecond
	// Every gossip packet carries this label; packets of other memberlist
	// clusters (consul, another product) are dropped.
	gossipLabel = "picloud"
	// joinRetry is the pause between join attempts at start.
	joinRetry = 250 * time.Millisecond
	// departedRetention is how long a dead member is remembered, shown as
	// dead and tried again (it may come back at the same address).
	departedRetention = 24 * time.Hour
	// deadHold is how long a member declared dead (not one that left)
	// stays in protoactor's topology. protoactor blocks, for good, the
	// actor system id of a member that drops out of its topology; a member
	// declared dead by mistake (it missed its probes under load) refutes
	// within a few probe rounds and comes back with the same id, which
	// must not be blocked. The placement drops it at once all the same.
	deadHold = 10 * time.Second
)

// Member statuses, as GET /api/v1/admin/cluster shows them.
const (
	// StatusAlive: a member in good standing.
	StatusAlive = "alive"
	// StatusSuspect: this node's probes of it went unanswered lately; it
	// is still a member until declared dead.
	StatusSuspect = "suspect"
	// StatusLeft: it stopped gracefully (SIGTERM).
	StatusLeft = "left"
	// StatusDead: it stopped answering and was declared dead.
	StatusDead = "dead"
)

// membershipConfig says how a node takes part in gossip.
type membershipConfig struct {
	name      string
	bindHost  string // IP; "" or 0.0.0.0 for every interface
	bindPort  int    // 0 picks a free port
	advertise string // IP others reach us at; "" = bind IP or first private IP
	seeds     []string
	// joinTimeout bounds the wait for seeds at start; retryInterval is the
	// pause between background attempts while seeds or dead members are
	// out of reach.
	joinTimeout   time.Duration
	retryInterval time.Duration
	// deadHold: see the constant (0: deadHold).
	deadHold time.Duration
	logger   *slog.Logger
}

// peer is a live member as the topology needs it.
type peer struct {
	name   string
	gossip string
	meta   nodeMeta
}

// record is what this node knows of one member, kept from memberlist's
// events (memberlist exposes no race-free view of its own table).
type record struct {
	gossip   string
	meta     nodeMeta
	metaErr  error
	status   string // StatusAlive, StatusLeft or StatusDead
	joinedAt time.Time
	since    time.Time // of the last status change
	lastAck  time.Time // of this node's last answered probe of it
}

// membership is a node's memberlist: joining, leaving, failure detection,
// and the member table the topology and the admin API read.
type membership struct {
	cfg       membershipConfig
	logger    *slog.Logger
	transport *memberlist.NetTransport
	ml        *memberlist.Memberlist
	self      string // gossip address, as others see it
	meta      atomic.Pointer[nodeMeta]
	onChange  func(live, topology []peer)

	changed chan struct{} // 1-buffered: the table changed
	stop    chan struct{}
	wg      sync.WaitGroup
	left    atomic.Bool

	conflicts    atomic.Int64
	conflictAddr atomic.Pointer[string]

	mu      sync.Mutex
	records map[string]*record
}

// errNameTaken is returned by join when a live member has this node's name.
var errNameTaken = errors.New("node name taken")

// newMembership binds the gossip port (UDP and TCP), so an address in use
// fails here, before anything else starts.
func newMembership(cfg membershipConfig) (*membership, error) {
	m := &membership{
		cfg:     cfg,
		logger:  cfg.logger,
		changed: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		records: map[string]*record{},
	}
	nc := &memberlist.NetTransportConfig{
		BindAddrs: []string{cmp.Or(cfg.bindHost, "0.0.0.0")},
		BindPort:  cfg.bindPort,
		Logger:    memberlistLogger(cfg.logger),
	}
	var err error
	// Port 0 binds TCP first and then UDP on the same number, which
	// another process may hold: try a few.
	for range 10 {
		if m.transport, err = memberlist.NewNetTransport(nc); err == nil || cfg.bindPort != 0 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster.gossip %s: %w", net.JoinHostPort(nc.BindAddrs[0], strconv.Itoa(cfg.bindPort)), err)
	}
	return m, nil
}

// port is the gossip port bound.
func (m *membership) port() int { return m.transport.GetAutoBindPort() }

func (m *membership) memberlistConfig() *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.Name = m.cfg.name
	c.Transport = m.transport
	c.BindAddr = cmp.Or(m.cfg.bindHost, "0.0.0.0")
	c.BindPort = m.port()
	c.AdvertiseAddr = m.cfg.advertise
	c.AdvertisePort = m.port()
	c.Label = gossipLabel
	c.ProbeInterval = probeInterval
	c.ProbeTimeout = probeTimeout
	c.SuspicionMult = suspicionMult
	c.SuspicionMaxTimeoutMult = suspicionMaxTimeoutMult
	c.AwarenessMaxMultiplier = awarenessMaxMultiplier
	c.PushPullInterval = pushPullInterval
	c.TCPTimeout = tcpTimeout
	c.DeadNodeReclaimTime = deadNodeReclaimTime
	c.Logger = memberlistLogger(m.logger)
	c.Delegate = (*metaDelegate)(m)
	c.Events = (*eventDelegate)(m)
	c.Conflict = (*conflictDelegate)(m)
	c.Ping = (*pingDelegate)(m)
	return c
}

// start enters gossip alone, announcing meta; onChange gets the live
// members, self included, and the members of protoactor's topology (see
// topology) after every change, from one goroutine.
func (m *membership) start(meta nodeMeta, onChange func(live, topology []peer)) error {
	if n := len(meta.encode()); n > memberlist.MetaMaxSize {
		return fmt.Errorf("node metadata is %d bytes, over memberlist's %d: fewer or shorter kinds", n, memberlist.MetaMaxSize)
	}
	m.meta.Store(&meta)
	m.onChange = onChange
	ml, err := memberlist.Create(m.memberlistConfig())
	if err != nil {
		_ = m.transport.Shutdown()
		return fmt.Errorf("start gossip: %w", err)
	}
	m.ml = ml
	// LocalNode points into memberlist's table, which it updates under
	// its lock: copy the address once.
	m.self = ml.LocalNode().Address()
	m.wg.Add(2)
	go m.publish()
	go m.reconnect()
	return nil
}

// gossipAddr is the address others gossip with this node at.
func (m *membership) gossipAddr() string { return m.self }

// join contacts the seeds until one answers, for at most joinTimeout.
// When none answers it returns nil all the same: the node runs alone, says
// so, and the background loop keeps trying. A live member with this
// node's name is an error (after the same wait: a node restarted at a new
// address waits for its old self to be declared dead).
func (m *membership) join(ctx context.Context) error {
	seeds := m.seeds()
	if len(seeds) == 0 {
		m.logger.Info("cluster: first node, waiting for others to join", slog.String("gossip", m.gossipAddr()))
		return nil
	}
	deadline := time.Now().Add(m.cfg.joinTimeout)
	var lastErr error
	for {
		before := m.conflicts.Load()
		n, err := m.ml.Join(seeds)
		switch {
		case n > 0 && m.conflicts.Load() == before:
			m.logger.Info("cluster: joined", slog.Any("through", seeds), slog.Int("members", m.ml.NumMembers()))
			return nil
		case n > 0:
			lastErr = errNameTaken
		default:
			lastErr = err
		}
		if !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(joinRetry):
		}
	}
	if errors.Is(lastErr, errNameTaken) {
		return fmt.Errorf("cluster: %w: %q is the name of the live member at %s: give this node another cluster.node_name (PICLOUD_NODE_NAME)",
			errNameTaken, m.cfg.name, *m.conflictAddr.Load())
	}
	m.logger.Warn("cluster: no member answered; running alone and retrying the join in the background",
		slog.Any("join", seeds), slog.Duration("waited", m.cfg.joinTimeout), slog.Any("err", lastErr))
	return nil
}

// seeds are the configured join addresses, without this node's own.
func (m *membership) seeds() []string {
	self := []string{m.gossipAddr(), net.JoinHostPort(cmp.Or(m.cfg.bindHost, "0.0.0.0"), strconv.Itoa(m.port()))}
	var out []string
	for _, s := range m.cfg.seeds {
		if !slices.Contains(self, s) {
			out = append(out, s)
		}
	}
	return out
}

// setLeaving tells the others this node takes no new work (meta Leaving)
// and waits, at most timeout, for the word to go out.
func (m *membership) setLeaving(timeout time.Duration) error {
	meta := *m.meta.Load()
	meta.Leaving = true
	m.meta.Store(&meta)
	return m.ml.UpdateNode(timeout)
}

// leave announces a graceful departure and waits, at most timeout, for it
// to go out; the others drop this node as soon as they hear it.
func (m *membership) leave(timeout time.Duration) error {
	m.left.Store(true)
	return m.ml.Leave(timeout)
}

// shutdown stops gossiping at once. Without leave first, the others find
// out by failed probes: what a kill -9 looks like to them.
func (m *membership) shutdown() error {
	select {
	case <-m.stop:
		return nil
	default:
	}
	close(m.stop)
	err := m.ml.Shutdown()
	m.wg.Wait()
	return err
}

// publish hands the live members and the topology to onChange after
// every change.
func (m *membership) publish() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.changed:
			// Once left, this node's view no longer matters, and
			// without itself in it protoactor would block its own id.
			if !m.left.Load() {
				m.onChange(m.peers(), m.topology())
			}
		}
	}
}

// reconnect tries, every retryInterval, the seeds that are not live
// members and the members that died (they may come back at their
// address): memberlist alone never looks for a member it has declared
// dead, so two halves of a cluster would otherwise stay apart.
func (m *membership) reconnect() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.retryInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		if m.left.Load() {
			continue
		}
		targets := m.reconnectTargets()
		if len(targets) == 0 {
			continue
		}
		alone := m.ml.NumMembers() <= 1
		if n, err := m.ml.Join(targets); n > 0 && alone {
			m.logger.Info("cluster: joined", slog.Any("through", targets), slog.Int("members", m.ml.NumMembers()))
		} else if err != nil {
			m.logger.Debug("cluster: rejoin attempt failed", slog.Any("targets", targets), slog.Any("err", err))
		}
	}
}

func (m *membership) reconnectTargets() []string {
	m.mu.Lock()
	live := map[string]bool{}
	var dead []string
	for name, r := range m.records {
		switch {
		case r.status != StatusAlive && time.Since(r.since) > departedRetention:
			delete(m.records, name) // forgotten: shown no more, tried no more
		case r.status == StatusAlive:
			live[r.gossip] = true
		case r.status == StatusDead && time.Since(r.since) < departedRetention:
			dead = append(dead, r.gossip)
		}
	}
	m.mu.Unlock()
	var out []string
	for _, s := range m.seeds() {
		if !live[s] && !resolvesToLive(s, live) {
			out = append(out, s)
		}
	}
	for _, d := range dead {
		if !live[d] && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// resolvesToLive reports whether a seed given by name is a live member's
// address.
func resolvesToLive(seed string, live map[string]bool) bool {
	host, port, err := net.SplitHostPort(seed)
	if err != nil || net.ParseIP(host) != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if live[net.JoinHostPort(ip, port)] {
			return true
		}
	}
	return false
}

// peers are the live members with valid metadata, self included.
func (m *membership) peers() []peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []peer
	for name, r := range m.records {
		if r.status == StatusAlive && r.metaErr == nil {
			out = append(out, peer{name: name, gossip: r.gossip, meta: r.meta})
		}
	}
	slices.SortFunc(out, func(a, b peer) int { return strings.Compare(a.name, b.name) })
	return out
}

// topology is the members protoactor's topology gets: the live ones with
// valid metadata, self included, and those declared dead less than
// deadHold ago (a false death refuted in time keeps its actor system id
// unblocked). A member that left is out at once: it does not come back.
func (m *membership) topology() []peer {
	hold := cmp.Or(m.cfg.deadHold, deadHold)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []peer
	for name, r := range m.records {
		held := r.status == StatusDead && time.Since(r.since) < hold
		if (r.status == StatusAlive || held) && r.metaErr == nil {
			out = append(out, peer{name: name, gossip: r.gossip, meta: r.meta})
		}
	}
	slices.SortFunc(out, func(a, b peer) int { return strings.Compare(a.name, b.name) })
	return out
}

// gone reports whether the member whose remote address is addr has
// left or died, as this node's records say (the placement hears of it a
// moment later, from publish).
// A member that came back at the address (under another name) is not.
func (m *membership) gone(addr string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	gone := false
	for _, r := range m.records {
		if r.metaErr != nil || r.meta.remote() != addr {
			continue
		}
		if r.status == StatusAlive {
			return false
		}
		gone = true
	}
	return gone
}

// MemberState is one member as GET /api/v1/admin/cluster shows it.
type MemberState struct {
	Name   string   `json:"name"`
	Gossip string   `json:"gossip"`
	Remote string   `json:"remote"`
	Roles  []string `json:"roles"`
	// HTTP is the member's HTTP listener as others reach it ("" when it
	// did not say).
	HTTP     string    `json:"http,omitempty"`
	Status   string    `json:"status"`
	JoinedAt time.Time `json:"joined_at"`
	// Self marks the node that answers.
	Self bool `json:"self"`

	id string // protoactor member id
}

// states is the member table: live members, and those that left or died
// within departedRetention, by name.
func (m *membership) states() []MemberState {
	m.mu.Lock()
	defer m.mu.Unlock()
	alive := 0
	for _, r := range m.records {
		if r.status == StatusAlive {
			alive++
		}
	}
	// Each peer is probed every (alive-1) probe intervals; three rounds
	// without an answer make it suspect in this node's eyes.
	suspectAfter := max(time.Second, 3*time.Duration(alive)*probeInterval)
	out := make([]MemberState, 0, len(m.records))
	for name, r := range m.records {
		s := MemberState{Name: name, Gossip: r.gossip, Remote: r.meta.remote(), Roles: slices.Clone(r.meta.Roles),
			HTTP: r.meta.HTTP, Status: r.status, JoinedAt: r.joinedAt, Self: name == m.cfg.name, id: r.meta.ID}
		if r.status == StatusAlive && !s.Self && time.Since(r.lastAck) > suspectAfter {
			s.Status = StatusSuspect
		}
		if r.status != StatusAlive && time.Since(r.since) > departedRetention {
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b MemberState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (m *membership) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// The delegates run inside memberlist, some under its node lock: they
// touch only the records and never call back into memberlist.

type metaDelegate membership

func (d *metaDelegate) NodeMeta(limit int) []byte {
	b := d.meta.Load().encode()
	if len(b) > limit {
		return nil
	}
	return b
}
func (d *metaDelegate) NotifyMsg([]byte)                           {}
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *metaDelegate) LocalState(join bool) []byte                { return nil }
func (d *metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

type eventDelegate membership

func (d *eventDelegate) NotifyJoin(n *memberlist.Node) {
	m := (*membership)(d)
	now := time.Now()
	m.mu.Lock()
	r := &record{status: StatusAlive, joinedAt: now, since: now, lastAck: now}
	m.records[n.Name] = r
	m.update(r, n)
	m.mu.Unlock()
	if n.Name != m.cfg.name {
		m.logger.Info("cluster: member joined", slog.String("node", n.Name), slog.String("gossip", r.gossip), slog.String("remote", r.meta.remote()))
	}
	m.signal()
}

func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) {
	m := (*membership)(d)
	m.mu.Lock()
	if r := m.records[n.Name]; r != nil {
		m.update(r, n)
	}
	m.mu.Unlock()
	m.signal()
}

// NotifyLeave tells a leave from a death by the metadata: a node that
// stops gracefully announces Leaving first.
func (d *eventDelegate) NotifyLeave(n *memberlist.Node) {
	m := (*membership)(d)
	m.mu.Lock()
	r := m.records[n.Name]
	if r == nil {
		r = &record{joinedAt: time.Now()}
		m.records[n.Name] = r
	}
	m.update(r, n)
	r.status, r.since = StatusDead, time.Now()
	if r.meta.Leaving {
		r.status = StatusLeft
	}
	m.mu.Unlock()
	if r.status == StatusLeft {
		m.logger.Info("cluster: member left", slog.String("node", n.Name), slog.String("gossip", r.gossip))
	} else {
		m.logger.Warn("cluster: member failed", slog.String("node", n.Name), slog.String("gossip", r.gossip))
		// Out of protoactor's topology once the hold is over, unless it
		// came back.
		time.AfterFunc(cmp.Or(m.cfg.deadHold, deadHold), m.signal)
	}
	m.signal()
}

// update copies what n says into r; m.mu is held.
func (m *membership) update(r *record, n *memberlist.Node) {
	r.gossip = n.Address()
	meta, err := decodeMeta(n.Meta)
	if err != nil && r.metaErr == nil {
		m.logger.Warn("cluster: member ignored: its metadata is not PiCloud's", slog.String("node", n.Name), slog.Any("err", err))
	}
	r.metaErr = err
	if err == nil {
		r.meta = meta
	}
}

type conflictDelegate membership

// NotifyConflict records a live node at another address that has this
// node's name; join turns it into an error.
func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	m := (*membership)(d)
	if existing.Name != m.cfg.name {
		return
	}
	addr := other.Address()
	m.conflictAddr.Store(&addr)
	m.conflicts.Add(1)
	m.logger.Error("cluster: another node uses this node's name", slog.String("node", existing.Name), slog.String("other", addr))
}

type pingDelegate membership

func (d *pingDelegate) AckPayload() []byte { return nil }

func (d *pingDelegate) NotifyPingComplete(n *memberlist.Node, _ time.Duration, _ []byte) {
	m := (*membership)(d)
	m.mu.Lock()
	if r := m.records[n.Name]; r != nil {
		r.lastAck = time.Now()
	}
	m.mu.Unlock()
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
