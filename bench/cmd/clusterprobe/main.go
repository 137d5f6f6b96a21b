// Command clusterprobe measures what an idle cluster costs: it starts
// -nodes cluster nodes, each in its own process (itself, with -node), on
// 127.0.0.1, lets them form a cluster and send one call to every other
// node (so every node holds a remote endpoint to every peer), then each
// node reports, as one line of JSON:
//
//   - cpu_percent: the CPU time (user + system, /proc/self/stat) it used
//     over -idle, idle, as a percentage of one core;
//   - heap_inuse_mib and rss_mib: its Go heap in use after a GC
//     (runtime.MemStats.HeapInuse) and its resident set (/proc/self/statm).
//
// Usage: go run ./bench/cmd/clusterprobe [-nodes 3] [-idle 10s] [-queue N]
//
// -queue sets cluster.Options.RemoteQueueSize; -queue 1000000 is
// protoactor's default, for the before/after figure in docs/cluster.md.
// Linux only (/proc).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/config"
)

const kind = "probe"

type report struct {
	Node         string  `json:"node"`
	Members      int     `json:"members"`
	Idle         string  `json:"idle"`
	CPUPercent   float64 `json:"cpu_percent"`
	HeapInuseMiB float64 `json:"heap_inuse_mib"`
	RSSMiB       float64 `json:"rss_mib"`
	Queue        int     `json:"queue"`
}

func main() {
	nodes := flag.Int("nodes", 3, "cluster size")
	idle := flag.Duration("idle", 10*time.Second, "how long to measure the idle CPU")
	queue := flag.Int("queue", 0, "cluster.Options.RemoteQueueSize (0: PiCloud's default)")
	node := flag.String("node", "", "internal: run one node of this name")
	join := flag.String("join", "", "internal: gossip address to join")
	flag.Parse()
	var err error
	if *node != "" {
		err = runNode(*node, *join, *nodes, *idle, *queue)
	} else {
		err = runParent(*nodes, *idle, *queue)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterprobe:", err)
		os.Exit(1)
	}
}

// runParent starts the nodes, the first as the seed, and prints their
// reports.
func runParent(n int, idle time.Duration, queue int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var outs []*bufio.Reader
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			_ = c.Process.Signal(os.Interrupt)
			_ = c.Wait()
		}
	}()
	seed := ""
	for i := 1; i <= n; i++ {
		args := []string{"-node", "p" + strconv.Itoa(i), "-nodes", strconv.Itoa(n), "-idle", idle.String(), "-queue", strconv.Itoa(queue)}
		if seed != "" {
			args = append(args, "-join", seed)
		}
		c := exec.Command(self, args...)
		c.Stderr = os.Stderr
		out, err := c.StdoutPipe()
		if err != nil {
			return err
		}
		if err := c.Start(); err != nil {
			return err
		}
		cmds = append(cmds, c)
		r := bufio.NewReader(out)
		outs = append(outs, r)
		line, err := r.ReadString('\n') // "gossip HOST:PORT"
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		if seed == "" {
			seed = strings.TrimSpace(strings.TrimPrefix(line, "gossip "))
		}
	}
	var total float64
	for _, r := range outs {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		fmt.Print(line)
		var rep report
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			return err
		}
		total += rep.CPUPercent
	}
	fmt.Printf("mean cpu_percent per node: %.3f\n", total/float64(n))
	return nil
}

// runNode is one node: it forms the cluster, calls every peer once, then
// measures, reports and waits to be told to stop.
func runNode(name, join string, n int, idle time.Duration, queue int) error {
	cfg := config.Default().Cluster
	cfg.NodeName, cfg.Gossip, cfg.Remote = name, "127.0.0.1:0", "127.0.0.1:0"
	if join != "" {
		cfg.Join = []string{join}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*wrapperspb.StringValue); ok {
			ctx.Respond(wrapperspb.String(name))
		}
	})
	node, err := cluster.Start(context.Background(), cluster.Options{
		Config: cfg, Logger: logger, RemoteQueueSize: queue,
		Kinds: []cluster.Kind{{Name: kind, Props: props, Role: config.RoleExecutor}},
	})
	if err != nil {
		return err
	}
	defer node.Stop(context.Background())
	fmt.Println("gossip", node.GossipAddr())
	if err := waitFor(30*time.Second, func() bool { return alive(node) == n }); err != nil {
		return fmt.Errorf("%s: cluster of %d not formed: %w", name, n, err)
	}
	// One call to an identity on every node, so each holds an endpoint to
	// each peer.
	reached := map[string]bool{}
	for i := 0; len(reached) < n && i < 1000; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := node.Request(ctx, kind, "id-"+strconv.Itoa(i), wrapperspb.String("ping"))
		cancel()
		if err == nil {
			reached[res.(*wrapperspb.StringValue).GetValue()] = true
		}
	}
	time.Sleep(2 * time.Second) // the others' calls and start-up work settle
	before, err := cpuTicks()
	if err != nil {
		return err
	}
	start := time.Now()
	time.Sleep(idle)
	after, _ := cpuTicks()
	elapsed := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := rssBytes()
	rep := report{
		Node: name, Members: alive(node), Idle: idle.String(), Queue: queue,
		CPUPercent:   100 * float64(after-before) / clkTck / elapsed.Seconds(),
		HeapInuseMiB: float64(ms.HeapInuse) / (1 << 20),
		RSSMiB:       float64(rss) / (1 << 20),
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	// Stay up until the parent says stop, so no node measures the
	// others leaving.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	return nil
}

func alive(n *cluster.Node) int {
	c := 0
	for _, m := range n.Members() {
		if m.Status == cluster.StatusAlive {
			c++
		}
	}
	return c
}

func waitFor(d time.Duration, cond func() bool) error {
	for end := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			return errors.New("timed out")
		}
	}
	return nil
}

// clkTck is USER_HZ, the unit of /proc/self/stat's times (100 on Linux).
const clkTck = 100

// cpuTicks is utime + stime of this process, in clock ticks.
func cpuTicks() (int64, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, errors.Join(err1, err2)
}

func rssBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()), err
}
