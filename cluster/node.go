package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/picloud/picloud/config"
)

// clusterName names the protoactor cluster; memberlist's gossipLabel
// keeps PiCloud's gossip apart from other clusters'.
const clusterName = "picloud"

// Remote sized for a small server (DESIGN §7). protoactor preallocates
// each peer's endpoint-writer queue at EndpointWriterQueueSize slots, 16
// bytes each: its default of 1,000,000 holds 15 MiB per peer before a
// single message is sent. The queue grows when it fills, so a small
// start loses nothing (docs/cluster.md has the measured figures).
const (
	remoteQueueSize = 1024
	remoteBatchSize = 256
	// defaultMaxMessage bounds one message between nodes (gRPC's own
	// default is 4 MiB, below a script's 6 MiB response).
	defaultMaxMessage = 16 << 20
)

// protoactor runs a gossip of its own over remote (heartbeats, topology
// consensus), every 300 ms by default: most of an idle node's CPU. Nothing
// here needs it fast: memberlist detects failures, and the lookup reads
// memberlist's view. Its heartbeat expiry blocks a member for good (a
// node that was paused that long must restart to be let back in), so it
// is kept well above any pause memberlist would forgive.
const (
	protoGossipInterval      = 2 * time.Second
	protoHeartbeatExpiration = time.Minute
)

// Defaults of Options.
const (
	defaultJoinTimeout   = 5 * time.Second
	defaultRetryInterval = 2 * time.Second
	// leaveBroadcast bounds each of Leave's two announcements.
	leaveBroadcast = time.Second
	// leaveGrace is how long a leaving node keeps its activations after
	// it announced the departure: a call another member sent before it
	// heard (gossip reaches every member within a few probe intervals)
	// still runs here. Calls sent later go to the new owners.
	leaveGrace = time.Second
	// defaultDrain bounds Leave's wait for activations to finish when its
	// context has no deadline.
	defaultDrain = 10 * time.Second
	// remoteDrain bounds Close's wait for gRPC streams to end.
	remoteDrain = 500 * time.Millisecond
	// unboundAddress is an actor system's address before its remote
	// starts (protoactor's localAddress).
	unboundAddress = "nonhost"
)

// Kind is a cluster kind: virtual actors of it are spawned on the member
// that owns each identity, among the members that have Role ("" for any).
// A node hosts a kind only if it has the role; every node must be given
// every kind, hosted or not, to know where to send.
type Kind struct {
	Name  string
	Props *actor.Props
	Role  string
	// Drained, when set, waits (until ctx ends) for the work that
	// activations of the kind left running when they stopped: a leaving
	// node waits for it before it leaves gossip, so its answers go out
	// while the others still take them.
	Drained func(ctx context.Context)
}

// Options configure a Node.
type Options struct {
	// Config is the cluster block; Enabled is not looked at.
	Config config.Cluster
	// Logger gets the node's log, memberlist's lines and protoactor's
	// warnings (nil: slog.Default()).
	Logger *slog.Logger
	Kinds  []Kind
	// JoinTimeout bounds the wait for a join address to answer at start
	// (default 5 s); RetryInterval is the pause between background join
	// attempts after that (default 2 s).
	JoinTimeout   time.Duration
	RetryInterval time.Duration
	// MaxMessageSize bounds one message between nodes (default 16 MiB).
	MaxMessageSize int
	// RemoteQueueSize is how many messages each peer's outgoing queue
	// holds before it grows (default 1024; protoactor's own default,
	// 1,000,000, costs 15 MiB per peer up front).
	RemoteQueueSize int
	// HTTPPort is the port of this node's HTTP listener, announced to
	// the others on the advertised host (MemberState.HTTP); 0 announces
	// none.
	HTTPPort int
}

// Node is one PiCloud process in cluster mode: an actor system whose
// remote and gossip are bound per config, a member of the cluster.
type Node struct {
	name      string
	logger    *slog.Logger
	system    *actor.ActorSystem
	cluster   *cluster.Cluster
	ms        *membership
	lookup    *lookup
	kinds     []Kind
	leaveOnce sync.Once
	leaveErr  error
	closeOnce sync.Once
	closed    atomic.Bool
}

// Start binds gossip and remote, starts the actor system and the
// cluster, registers the kinds this node's roles host, and joins the
// members named in Config.Join: within JoinTimeout, or else it runs alone
// and keeps trying in the background. A live member with the same name is
// an error.
func Start(ctx context.Context, opts Options) (*Node, error) {
	cfg := opts.Config
	logger := cmp.Or(opts.Logger, slog.Default())
	if err := checkKinds(opts.Kinds); err != nil {
		return nil, err
	}
	ghost, gport, err := splitBind(cfg.Gossip)
	if err != nil {
		return nil, fmt.Errorf("cluster.gossip: %w", err)
	}
	rhost, rport, err := splitBind(cfg.Remote)
	if err != nil {
		return nil, fmt.Errorf("cluster.remote: %w", err)
	}
	advertise, err := resolveAdvertise(ctx, cfg.Advertise)
	if err != nil {
		return nil, err
	}
	ms, err := newMembership(membershipConfig{
		bindHost: ghost, bindPort: gport, advertise: advertise, seeds: joinAddrs(cfg.Join),
		joinTimeout: cmp.Or(opts.JoinTimeout, defaultJoinTimeout), retryInterval: cmp.Or(opts.RetryInterval, defaultRetryInterval),
		logger: logger,
	})
	if err != nil {
		return nil, err
	}
	ms.cfg.name = cmp.Or(cfg.NodeName, defaultNodeName(ms.port()))
	logger = logger.With(slog.String("node", ms.cfg.name))
	ms.logger, ms.cfg.logger = logger, logger
	adv, _, err := ms.transport.FinalAdvertiseAddr(advertise, ms.port())
	if err != nil {
		_ = ms.transport.Shutdown()
		return nil, fmt.Errorf("cluster: no address other nodes can reach this one at: set cluster.advertise (%w)", err)
	}

	rc, err := remoteConfig(rhost, rport, adv.String(), cfg.Advertise != "",
		cmp.Or(opts.MaxMessageSize, defaultMaxMessage), cmp.Or(opts.RemoteQueueSize, remoteQueueSize))
	if err != nil {
		_ = ms.transport.Shutdown()
		return nil, err
	}
	n := &Node{name: ms.cfg.name, logger: logger, ms: ms, kinds: opts.Kinds,
		system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return libLogger(logger) }))}
	n.cluster = n.newCluster(cfg, opts.Kinds, opts.HTTPPort, rc)
	if err := startMember(n.cluster); err != nil {
		err = fmt.Errorf("cluster.remote %s: %w", rc.Address(), err)
		n.close()
		return nil, err
	}
	if err := ms.join(ctx); err != nil {
		n.close()
		return nil, err
	}
	logger.Info("cluster: node started", slog.String("gossip", ms.gossipAddr()), slog.String("remote", n.system.Address()),
		slog.Any("roles", cfg.Roles))
	return n, nil
}

// newCluster is protoactor's cluster for n: the memberlist provider, the
// rendezvous lookup, and the kinds this node's roles host (the lookup
// knows every kind's role, hosted here or not).
func (n *Node) newCluster(cfg config.Cluster, all []Kind, httpPort int, rc *remote.Config) *cluster.Cluster {
	roles := map[string]string{}
	var kinds []*cluster.Kind
	for _, k := range all {
		roles[k.Name] = k.Role
		if k.Role == "" || cfg.HasRole(k.Role) {
			kinds = append(kinds, cluster.NewKind(k.Name, k.Props))
		}
	}
	n.lookup = newLookup(roles, n.logger)
	prov := &provider{ms: n.ms, roles: slices.Clone(cfg.Roles), httpPort: httpPort, onPeers: n.lookup.setPeers}
	cc := cluster.Configure(clusterName, prov, n.lookup, rc, cluster.WithKinds(kinds...),
		cluster.WithHeartbeatExpiration(protoHeartbeatExpiration))
	cc.GossipInterval = protoGossipInterval
	return cluster.New(n.system, cc)
}

// startMember runs protoactor's StartMember, which panics where it could
// return an error (a remote port in use, a provider that fails).
func startMember(c *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start cluster member: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

// Name is this node's name in the cluster.
func (n *Node) Name() string { return n.name }

// System is the node's actor system.
func (n *Node) System() *actor.ActorSystem { return n.system }

// Cluster is protoactor's cluster on this node.
func (n *Node) Cluster() *cluster.Cluster { return n.cluster }

// GossipAddr is the address other nodes gossip with this one at (with the
// real port when the config said port 0).
func (n *Node) GossipAddr() string { return n.ms.gossipAddr() }

// RemoteAddr is the address other nodes send this one messages at.
func (n *Node) RemoteAddr() string { return n.system.Address() }

// Members is the member table as this node sees it, for
// GET /api/v1/admin/cluster: live members and those that left or died
// lately, by name. A member that came back more than deadHold after it was
// declared dead is shown dead: protoactor has blocked its id and will not
// take it back until it restarts.
func (n *Node) Members() []MemberState {
	st := n.ms.states()
	blocked := n.cluster.Remote.BlockList()
	for i := range st {
		if !st[i].Self && st[i].Status != StatusLeft && blocked.IsBlocked(st[i].id) {
			st[i].Status = StatusDead
		}
	}
	return st
}

// Owner is the name of the node that owns (kind, identity) in this node's
// view; ok is false when no member hosts the kind.
func (n *Node) Owner(kind, identity string) (name string, ok bool) {
	return n.lookup.ownerName(kind, identity)
}

// ErrOwnerGone means the member that held the activation a call was
// sent to died or left the cluster before it answered: the call may or
// may not have run there.
var ErrOwnerGone = errors.New("the cluster member running the call is gone")

// Request sends msg to the virtual actor (kind, identity), activating it
// on its owner if need be, and waits for the answer until ctx ends. When
// the activation it knew of has gone (moved to another member, stopped),
// it asks the lookup again while time remains. A call placed on this node
// never touches the network. When the member holding the activation dies
// before it answers, the call fails with ErrOwnerGone as soon as this
// node notices (within 2 s), whatever time ctx has left.
func (n *Node) Request(ctx context.Context, kind, identity string, msg any) (any, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, getTimeout)
		defer cancel()
	}
	ci := cluster.NewClusterIdentity(identity, kind)
	for {
		pid, cached := n.cluster.PidCache.Get(identity, kind)
		if cached && pid.Address != n.system.Address() && (!n.lookup.isLive(pid.Address) || n.ms.gone(pid.Address)) {
			// Cached from a member that has gone since: nothing was sent,
			// so the call is placed again.
			n.cluster.PidCache.RemoveByValue(identity, kind, pid)
			cached = false
		}
		if !cached {
			var err error
			if pid, err = n.lookup.activate(ctx, ci); err != nil {
				return nil, err
			}
			n.cluster.PidCache.Set(identity, kind, pid)
		}
		res, err := n.request(ctx, pid, msg)
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, actor.ErrDeadLetter) || errors.Is(err, remote.ErrDeadLetter):
			n.cluster.PidCache.RemoveByValue(identity, kind, pid)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("request %s/%s: %w", kind, identity, ctx.Err())
			}
		case errors.Is(err, ErrOwnerGone):
			n.cluster.PidCache.RemoveByValue(identity, kind, pid)
			return nil, fmt.Errorf("request %s/%s at %s: %w", kind, identity, pid.Address, err)
		case errors.Is(err, actor.ErrTimeout):
			return nil, fmt.Errorf("request %s/%s at %s: %w", kind, identity, pid.Address, context.DeadlineExceeded)
		default:
			return nil, fmt.Errorf("request %s/%s at %s: %w", kind, identity, pid.Address, err)
		}
	}
}

// request sends msg to pid and waits for the answer until ctx ends or,
// for a pid on another member, that member goes.
func (n *Node) request(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	dl, _ := ctx.Deadline()
	f := n.system.Root.RequestFuture(pid, msg, time.Until(dl))
	// Stopping a future completes it with no answer and no error; why is
	// told apart here.
	var why atomic.Pointer[error]
	stop := func(err error) {
		why.CompareAndSwap(nil, &err)
		n.system.Root.Stop(f.PID())
	}
	defer context.AfterFunc(ctx, func() { stop(ctx.Err()) })()
	if pid.Address != n.system.Address() {
		defer n.lookup.watchMember(pid.Address, func() { stop(ErrOwnerGone) })()
	}
	res, err := f.Result()
	if err == nil && res == nil {
		if e := why.Load(); e != nil {
			return nil, *e
		}
	}
	return res, err
}

// Leave takes the node out of the cluster gracefully, in this order: it
// tells the others it takes no new work (each places new activations
// elsewhere, and sends its next calls there, as soon as it hears);
// keeps serving the calls that reach its activations for leaveGrace, so
// a call sent by a member that had not heard yet still runs; then stops
// its activations, each after the messages already in its mailbox; waits
// for them until ctx ends (at most defaultDrain if ctx has no deadline);
// and leaves gossip, after which the others show it left. So every call
// another member sent here is answered by this node, or came back
// undelivered (never run) and was placed again. The actor system keeps
// running until Close, so answers still on their way go out.
func (n *Node) Leave(ctx context.Context) error {
	n.leaveOnce.Do(func() {
		if n.closed.Load() {
			// Closed first (as a crash would): gossip is gone, nothing to
			// announce.
			return
		}
		start := time.Now()
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, defaultDrain)
			defer cancel()
		}
		// The activations stay while the word goes round: another member
		// that has not heard yet still sends calls to them, and they run
		// here. Were they stopped at once, each such call would come back
		// undelivered and be placed again, at the cost of a fresh load on
		// the new owner in the middle of the call.
		n.lookup.holding.Store(true)
		if err := n.ms.setLeaving(leaveBroadcast); err != nil {
			n.logger.Warn("cluster: announcing the departure", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(leaveGrace):
		}
		n.lookup.holding.Store(false)
		n.system.Root.Send(n.lookup.activator, rebalance{})
		for n.lookup.live.Load() > 0 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		if left := n.lookup.live.Load(); left > 0 {
			n.logger.Warn("cluster: leaving with activations still running", slog.Int64("activations", left))
		}
		for _, k := range n.kinds {
			if k.Drained != nil {
				k.Drained(ctx)
			}
		}
		n.leaveErr = n.ms.leave(leaveBroadcast)
		n.logger.Info("cluster: left", slog.Duration("took", time.Since(start)))
	})
	return n.leaveErr
}

// Close stops the node: gossip, activations, remote and actor system.
// Without Leave first, the others see what a kill -9 looks like: a member
// that stops answering, dropped within 2 s.
func (n *Node) Close() error {
	n.close()
	return nil
}

// Stop is Leave and then Close.
func (n *Node) Stop(ctx context.Context) error {
	err := n.Leave(ctx)
	n.Close()
	return err
}

func (n *Node) close() {
	n.closeOnce.Do(func() {
		n.closed.Store(true)
		if n.ms.ml != nil {
			_ = n.ms.shutdown()
		} else {
			_ = n.ms.transport.Shutdown()
		}
		if n.cluster != nil {
			n.lookup.Shutdown()
			n.cluster.Gossip.Shutdown() // a no-op if it never started
		}
		n.system.Shutdown()
		// The remote is up once it has given the system its address.
		if n.cluster == nil || n.cluster.Remote == nil || n.system.Address() == unboundAddress {
			return
		}
		// A graceful remote shutdown stops the endpoints and then the
		// gRPC server, waiting up to 10 s for each (an endpoint to a peer
		// that just died sits in a 2 s x 5 reconnect loop); past
		// remoteDrain the server is cut and the rest finishes behind.
		done := make(chan struct{})
		go func() {
			n.cluster.Remote.Shutdown(true)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(remoteDrain):
			n.cluster.Remote.Shutdown(false)
		}
	})
}

// checkKinds refuses kinds the lookup could not tell apart.
func checkKinds(kinds []Kind) error {
	seen := map[string]bool{}
	for _, k := range kinds {
		switch {
		case k.Name == "" || strings.Contains(k.Name, "/"):
			return fmt.Errorf("cluster kind %q: a name without '/' is needed", k.Name)
		case seen[k.Name]:
			return fmt.Errorf("cluster kind %q given twice", k.Name)
		case k.Props == nil:
			return fmt.Errorf("cluster kind %q has no props", k.Name)
		case k.Role != "" && k.Role != config.RoleManager && k.Role != config.RoleIngress && k.Role != config.RoleExecutor:
			return fmt.Errorf("cluster kind %q: unknown role %q", k.Name, k.Role)
		}
		seen[k.Name] = true
	}
	return nil
}

// splitBind splits a validated bind address ("" host: every interface).
func splitBind(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return cmp.Or(h, "0.0.0.0"), port, nil
}

// joinAddrs gives each join address its port (DefaultGossipPort when
// none).
func joinAddrs(join []string) []string {
	out := make([]string, len(join))
	for i, a := range join {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(config.DefaultGossipPort))
		}
		out[i] = a
	}
	return out
}

// resolveAdvertise turns the advertise host into an IP (memberlist
// announces IPs): a name is looked up once, at start.
func resolveAdvertise(ctx context.Context, host string) (string, error) {
	if host == "" || net.ParseIP(host) != nil {
		return host, nil
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("cluster.advertise %q: %w", host, cmp.Or(err, errors.New("no address")))
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String(), nil
		}
	}
	return ips[0].String(), nil
}

// remoteConfig binds remote on host:port. Bound to every interface, or
// told to advertise, it announces adv (the address gossip announces) with
// its port: a port 0 is chosen here for that.
func remoteConfig(host string, port int, adv string, advertised bool, maxMsg, queue int) (*remote.Config, error) {
	ip := net.ParseIP(host)
	announce := advertised || ip == nil || ip.IsUnspecified()
	if announce && port == 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("cluster.remote: pick a port on %s: %w", host, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	rc := remote.Configure(host, port,
		remote.WithEndpointWriterQueueSize(queue),
		remote.WithEndpointManagerQueueSize(queue),
		remote.WithEndpointWriterBatchSize(remoteBatchSize),
		remote.WithServerOptions(grpc.MaxRecvMsgSize(maxMsg)),
		remote.WithDialOptions(
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		),
	)
	if announce {
		rc.AdvertisedHost = net.JoinHostPort(adv, strconv.Itoa(port))
	}
	return rc, nil
}

// defaultNodeName is the host name and the gossip port: "pi1-7946".
func defaultNodeName(gossipPort int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host, _, _ = strings.Cut(host, ".")
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, host)
	if len(clean) > 50 {
		clean = clean[:50]
	}
	return clean + "-" + strconv.Itoa(gossipPort)
}
