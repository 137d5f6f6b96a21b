package multinode_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/config"
)

// kindEcho is the test kind: its actors answer a StringValue with the
// name of the node they run on.
const kindEcho = "echo"

func echoProps(node string) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *wrapperspb.StringValue:
			ctx.Respond(wrapperspb.String(node))
		case *wrapperspb.Int64Value:
			// A slow call: say it began, then answer after m ms.
			if started := slowStarted.Load(); started != nil {
				select {
				case *started <- struct{}{}:
				default:
				}
			}
			time.Sleep(time.Duration(m.GetValue()) * time.Millisecond)
			ctx.Respond(wrapperspb.String(node))
		}
	})
}

// slowStarted, when set, hears when a slow call begins.
var slowStarted atomic.Pointer[chan struct{}]

type nodeOpts struct {
	gossipPort  int
	join        []string
	joinTimeout time.Duration
	roles       []string
}

// startNode starts a node on 127.0.0.1 with ports from the OS (or the
// given gossip port), stopped (without leaving) when the test ends.
func startNode(t *testing.T, name string, o nodeOpts) (*cluster.Node, error) {
	t.Helper()
	cfg := config.Default().Cluster
	cfg.Enabled, cfg.NodeName, cfg.Join = true, name, o.join
	cfg.Gossip = net.JoinHostPort("127.0.0.1", strconv.Itoa(o.gossipPort))
	cfg.Remote = "127.0.0.1:0"
	if o.roles != nil {
		cfg.Roles = o.roles
	}
	n, err := cluster.Start(context.Background(), cluster.Options{
		Config:        cfg,
		Logger:        testLogger(t),
		Kinds:         []cluster.Kind{{Name: kindEcho, Props: echoProps(name), Role: config.RoleExecutor}},
		JoinTimeout:   cmpOr(o.joinTimeout, 2*time.Second),
		RetryInterval: 100 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { n.Close() })
	return n, nil
}

func mustStartNode(t *testing.T, name string, o nodeOpts) *cluster.Node {
	t.Helper()
	n, err := startNode(t, name, o)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return n
}

// startCluster starts n1 and then, together, the others joining it, and
// waits until every node sees every other alive and places identities
// alike.
func startCluster(t *testing.T, names ...string) []*cluster.Node {
	t.Helper()
	nodes := make([]*cluster.Node, len(names))
	nodes[0] = mustStartNode(t, names[0], nodeOpts{})
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i := 1; i < len(names); i++ {
		wg.Go(func() { nodes[i], errs[i] = startNode(t, names[i], nodeOpts{join: []string{nodes[0].GossipAddr()}}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", names[i], err)
		}
	}
	for _, n := range nodes {
		eventually(t, 3*time.Second, n.Name()+" sees every member alive", func() bool { return aliveCount(n) == len(names) })
	}
	eventually(t, 3*time.Second, "every node places identities alike", func() bool {
		for i := range 30 {
			if owners(nodes, ident(i)) == "" {
				return false
			}
		}
		return true
	})
	return nodes
}

func aliveCount(n *cluster.Node) int {
	alive := 0
	for _, m := range n.Members() {
		if m.Status == cluster.StatusAlive {
			alive++
		}
	}
	return alive
}

func status(n *cluster.Node, name string) string {
	for _, m := range n.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return ""
}

// owners is the owner of identity all nodes agree on, or "".
func owners(nodes []*cluster.Node, identity string) string {
	var agreed string
	for i, n := range nodes {
		o, ok := n.Owner(kindEcho, identity)
		if !ok || (i > 0 && o != agreed) {
			return ""
		}
		agreed = o
	}
	return agreed
}

func ident(i int) string { return "v" + strconv.Itoa(1000+i/3) + "/" + strconv.Itoa(i%3) }

// call asks identity's echo actor through n where it runs.
func call(n *cluster.Node, identity string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := n.Request(ctx, kindEcho, identity, wrapperspb.String("ping"))
	if err != nil {
		return "", err
	}
	return res.(*wrapperspb.StringValue).GetValue(), nil
}

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

// testLogger keeps a node's log (Info and above) and shows it if the
// test fails, once the node has stopped.
func testLogger(t *testing.T) *slog.Logger {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("\n" + buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

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

func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
