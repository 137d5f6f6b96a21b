package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"
)

const (
	// activatorName is the local name of each node's activator actor,
	// which spawns the identities the node owns.
	activatorName = "picloud-activator"
	// activationAttempt bounds one activation request, so a caller with
	// a longer budget tries again once a dead owner is replaced (within
	// 2 s) instead of spending its whole budget on it.
	activationAttempt = time.Second
	// getTimeout bounds Get, protoactor's lookup call, which has no
	// caller deadline (the stock lookup waits 5 s on a dead owner).
	getTimeout = 2 * time.Second
	// leftAnswerGrace is how long a call to a member that left
	// gracefully still waits for its answer: the leaver answered every
	// call it ran before it announced the leave, but the answer travels
	// over remote and the announcement over gossip, and either may be
	// first here.
	leftAnswerGrace = 500 * time.Millisecond
)

// ErrNoMember means no live member hosts the kind (with its role).
var ErrNoMember = errors.New("no cluster member hosts this kind")

// lookup is protoactor's IdentityLookup for PiCloud: each identity of a
// kind lives on the member that wins rendezvous hashing among the live,
// not leaving members that host the kind and have the kind's role. A
// node's activator spawns the identities it owns and stops those it no
// longer owns when the members change.
type lookup struct {
	roles     map[string]string // kind -> role a member needs to host it
	logger    *slog.Logger
	c         *cluster.Cluster
	selfID    string
	activator *actor.PID
	sub       *eventstream.Subscription
	view      atomic.Pointer[placement]
	live      atomic.Int64 // activations held by this node
	// holding keeps this node's activations while it leaves, for the
	// grace its peers need to hear of it (Node.Leave): calls they sent
	// before they heard still find them.
	holding atomic.Bool
	warned  map[string]bool // blocked member ids already logged; setPeers only

	watchMu sync.Mutex
	watches map[*watch]struct{} // calls waiting on a member, by its remote address
}

// watch is a call in flight to the member at addr: gone runs once when
// that member is no longer live (declared dead, blocked, or left), unless
// the call ended first.
type watch struct {
	addr  string
	gone  func()
	ended atomic.Bool
}

// placement is the candidates of each kind at one moment.
type placement struct {
	byKind map[string][]candidate
	names  map[string]string // member id -> node name
	live   map[string]bool   // remote addresses of live members, leaving ones included
	// leaving are the remote addresses of members that announced a
	// graceful leave.
	leaving map[string]bool
}

func newLookup(roles map[string]string, logger *slog.Logger) *lookup {
	l := &lookup{roles: roles, logger: logger, warned: map[string]bool{}, watches: map[*watch]struct{}{}}
	l.view.Store(&placement{})
	return l
}

// Setup is called by protoactor's StartMember before the provider starts.
func (l *lookup) Setup(c *cluster.Cluster, _ []string, _ bool) {
	l.c, l.selfID = c, c.ActorSystem.ID
	props := actor.PropsFromProducer(func() actor.Actor { return &activator{l: l, actors: map[string]activation{}} })
	pid, err := c.ActorSystem.Root.SpawnNamed(props, activatorName)
	if err != nil {
		panic(fmt.Errorf("spawn %s: %w", activatorName, err)) // StartMember turns it into an error
	}
	l.activator = pid
	// Other nodes tell when an activation of theirs ends (moved, idle):
	// forget its PID here, so the next call asks the lookup again.
	l.sub = c.ActorSystem.EventStream.Subscribe(func(ev any) {
		if t, ok := ev.(*cluster.ActivationTerminated); ok && t.ClusterIdentity != nil {
			c.PidCache.RemoveByValue(t.ClusterIdentity.Identity, t.ClusterIdentity.Kind, t.Pid)
		}
	})
}

// Shutdown stops the activator and with it every activation held here.
func (l *lookup) Shutdown() {
	if l.c == nil {
		return
	}
	l.c.ActorSystem.EventStream.Unsubscribe(l.sub)
	_ = l.c.ActorSystem.Root.StopFuture(l.activator).Wait()
}

// setPeers takes the live members after a change and has the activator
// let go of what it no longer owns.
func (l *lookup) setPeers(peers []peer) {
	p := &placement{byKind: map[string][]candidate{}, names: map[string]string{}, live: map[string]bool{}, leaving: map[string]bool{}}
	blocked := l.c.Remote.BlockList()
	for _, pr := range peers {
		p.names[pr.meta.ID] = pr.name
		if blocked.IsBlocked(pr.meta.ID) && !pr.meta.Leaving && !l.warned[pr.meta.ID] {
			l.warned[pr.meta.ID] = true
			l.logger.Warn("cluster: member is back after it was declared dead; it takes no work until it restarts",
				slog.String("member", pr.name), slog.String("gossip", pr.gossip))
		}
		if blocked.IsBlocked(pr.meta.ID) {
			continue
		}
		// A leaving member still answers what it holds.
		p.live[pr.meta.remote()] = true
		if pr.meta.Leaving {
			p.leaving[pr.meta.remote()] = true
			if pr.meta.ID != l.selfID {
				// Calls go to the new owners from now on, not to the
				// activations cached here: the leaver answers the ones
				// already sent, and stops its activations only after a
				// grace (Node.Leave).
				l.c.PidCache.RemoveByMember(&cluster.Member{Host: pr.meta.Host, Port: int32(pr.meta.Port)})
			}
			continue
		}
		c := candidate{id: pr.meta.ID, addr: pr.meta.remote(), seed: hashName(pr.name)}
		for _, kind := range pr.meta.Kinds {
			if pr.meta.hosts(kind, l.roles[kind]) {
				p.byKind[kind] = append(p.byKind[kind], c)
			}
		}
	}
	prev := l.view.Swap(p)
	l.c.ActorSystem.Root.Send(l.activator, rebalance{})
	l.watchMu.Lock()
	var gone, left []*watch
	for w := range l.watches {
		if !p.live[w.addr] {
			delete(l.watches, w)
			if prev.leaving[w.addr] {
				left = append(left, w)
			} else {
				gone = append(gone, w)
			}
		}
	}
	l.watchMu.Unlock()
	for _, w := range gone {
		w.fire()
	}
	for _, w := range left {
		time.AfterFunc(leftAnswerGrace, w.fire)
	}
}

// fire runs gone unless the call ended.
func (w *watch) fire() {
	if !w.ended.Load() {
		w.gone()
	}
}

// isLive reports whether the member at remote address addr is live
// (leaving ones included) in the current view.
func (l *lookup) isLive(addr string) bool { return l.view.Load().live[addr] }

// watchMember runs gone once when the member at remote address addr is
// no longer live (at once if it is not now); stop cancels the watch.
func (l *lookup) watchMember(addr string, gone func()) (stop func()) {
	w := &watch{addr: addr, gone: gone}
	l.watchMu.Lock()
	if !l.view.Load().live[addr] {
		l.watchMu.Unlock()
		gone()
		return func() {}
	}
	l.watches[w] = struct{}{}
	l.watchMu.Unlock()
	return func() {
		w.ended.Store(true)
		l.watchMu.Lock()
		delete(l.watches, w)
		l.watchMu.Unlock()
	}
}

// owner is the member that owns (kind, identity) in the current view.
func (l *lookup) owner(kind, identity string) (candidate, bool) {
	return owner(hashKey(kind, identity), l.view.Load().byKind[kind])
}

// ownerName is the node name of the owner of (kind, identity).
func (l *lookup) ownerName(kind, identity string) (string, bool) {
	v := l.view.Load()
	c, ok := owner(hashKey(kind, identity), v.byKind[kind])
	return v.names[c.id], ok
}

// Get is protoactor's lookup call (cluster.Get, cluster.Request): bounded
// by getTimeout, as it has no deadline of its own. Node.Request passes its
// caller's.
func (l *lookup) Get(ci *cluster.ClusterIdentity) *actor.PID {
	ctx, cancel := context.WithTimeout(context.Background(), getTimeout)
	defer cancel()
	pid, err := l.activate(ctx, ci)
	if err != nil {
		l.logger.Debug("cluster: no activation", slog.String("kind", ci.Kind), slog.String("identity", ci.Identity), slog.Any("err", err))
	}
	return pid
}

// RemovePid forgets pid for ci (protoactor calls it after a failed call).
func (l *lookup) RemovePid(ci *cluster.ClusterIdentity, pid *actor.PID) {
	l.c.PidCache.RemoveByValue(ci.Identity, ci.Kind, pid)
}

// activate returns the PID of ci's activation on its owner, spawning it
// there if need be, trying again (the owner may change) until ctx ends.
// An owner on this node is asked without touching the network.
func (l *lookup) activate(ctx context.Context, ci *cluster.ClusterIdentity) (*actor.PID, error) {
	pause := 10 * time.Millisecond
	for {
		own, ok := l.owner(ci.Kind, ci.Identity)
		if !ok {
			return nil, fmt.Errorf("activate %s/%s: %w", ci.Kind, ci.Identity, ErrNoMember)
		}
		to := l.activator
		if own.id != l.selfID {
			to = actor.NewPID(own.addr, activatorName)
		}
		budget := activationAttempt
		if dl, ok := ctx.Deadline(); ok {
			budget = min(budget, time.Until(dl))
		}
		if budget <= 0 {
			return nil, fmt.Errorf("activate %s/%s on %s: %w", ci.Kind, ci.Identity, own.addr, context.DeadlineExceeded)
		}
		res, err := l.c.ActorSystem.Root.RequestFuture(to, &cluster.ActivationRequest{ClusterIdentity: ci}, budget).Result()
		if r, ok := res.(*cluster.ActivationResponse); err == nil && ok && !r.Failed && r.Pid != nil {
			return r.Pid, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("activate %s/%s on %s: %w", ci.Kind, ci.Identity, own.addr, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// rebalance tells the activator that the members changed.
type rebalance struct{}

// activator spawns the activations this node owns and watches them end.
type activator struct {
	l      *lookup
	actors map[string]activation // by ClusterIdentity.AsKey()
}

type activation struct {
	ci  *cluster.ClusterIdentity
	pid *actor.PID
}

func (a *activator) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *cluster.ActivationRequest:
		ctx.Respond(a.activate(ctx, msg.ClusterIdentity))
	case *actor.Terminated:
		a.terminated(ctx, msg.Who)
	case rebalance:
		a.rebalance(ctx)
	}
}

func (a *activator) activate(ctx actor.Context, ci *cluster.ClusterIdentity) *cluster.ActivationResponse {
	failed := &cluster.ActivationResponse{Failed: true}
	if ci == nil {
		return failed
	}
	key := ci.AsKey()
	if act, ok := a.actors[key]; ok {
		return &cluster.ActivationResponse{Pid: act.pid}
	}
	// The caller's view of the members may be ahead of or behind ours:
	// never host what this node does not own, or two could exist.
	if own, ok := a.l.owner(ci.Kind, ci.Identity); !ok || own.id != a.l.selfID {
		return failed
	}
	kind, ok := a.l.c.TryGetClusterKind(ci.Kind)
	if !ok {
		return failed
	}
	pid, err := ctx.SpawnNamed(cluster.WithClusterIdentity(kind.Props, ci), ci.Kind+"$"+ctx.ActorSystem().ProcessRegistry.NextID())
	if err != nil {
		a.l.logger.Error("cluster: spawn activation", slog.String("kind", ci.Kind), slog.String("identity", ci.Identity), slog.Any("err", err))
		return failed
	}
	kind.Inc()
	a.l.live.Add(1)
	a.actors[key] = activation{ci: ci, pid: pid}
	return &cluster.ActivationResponse{Pid: pid}
}

// terminated forgets an activation that ended and tells the other members,
// whose PID caches may hold it.
func (a *activator) terminated(ctx actor.Context, who *actor.PID) {
	for key, act := range a.actors {
		if !act.pid.Equal(who) {
			continue
		}
		delete(a.actors, key)
		a.l.live.Add(-1)
		ci := act.ci
		if kind, ok := a.l.c.TryGetClusterKind(ci.Kind); ok {
			kind.Dec()
		}
		a.l.c.PidCache.RemoveByValue(ci.Identity, ci.Kind, who)
		a.l.c.MemberList.BroadcastEvent(&cluster.ActivationTerminated{Pid: who, ClusterIdentity: ci}, false)
		return
	}
}

// rebalance stops the activations another member owns now; each finishes
// the messages already in its mailbox first. While the node holds its
// activations (the grace of a leave) it stops none.
func (a *activator) rebalance(ctx actor.Context) {
	if a.l.holding.Load() {
		return
	}
	for _, act := range a.actors {
		if own, ok := a.l.owner(act.ci.Kind, act.ci.Identity); !ok || own.id != a.l.selfID {
			ctx.Poison(act.pid)
		}
	}
}
