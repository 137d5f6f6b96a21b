// Command memprobe measures what PiCloud costs when it is not serving a
// load: the memory of the server and its worker processes from the first
// moment on, with many deployed scripts, the wake-ups of an idle server,
// the first call of a freshly deployed script (cold start) and the time
// from a deploy to the first answer of the new version.
//
// It starts the real binary on a fresh data directory, listening on
// 127.0.0.1 (a free port), and reads everything else from /proc (Linux):
//
//  1. start: RSS and PSS of the server and of each of its child processes
//     every -sample (100 ms) from the moment it is started, for -settle
//     (children: its worker processes and, while scripts are uploaded,
//     their checker processes);
//     the first admin is made through the setup link the server prints,
//     as a fresh install's user does (one Argon2id hash, reported apart);
//  2. deploy -scripts scripts (each bound to GET /m/N of the seeded Hello
//     World app) through the admin API, call the first -warm of them, and
//     read the memory of server + workers once it has settled;
//  3. idle: for -idle, how often each thread of the server and its
//     workers ran (/proc/PID/task/TID/schedstat) and the CPU they used;
//  4. cold start: the first call of -rounds scripts deployed but never
//     called; deploy to answer: -rounds times, PUT a new version of a
//     warm script and poll its route until the new answer comes, timed
//     from the start of the PUT.
//
// Memory is the figure robust to a shared machine; latencies move with
// its load, which memprobe prints.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	bin       string
	config    string
	sample    time.Duration
	settle    time.Duration
	scripts   int
	warm      int
	idle      time.Duration
	rounds    int
	parallel  int
	keepData  bool
	tracePath string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o options
	flag.StringVar(&o.bin, "bin", "", "picloud binary to measure (required)")
	flag.StringVar(&o.config, "config", "", "config file passed to picloud serve (optional)")
	flag.DurationVar(&o.sample, "sample", 100*time.Millisecond, "memory sampling interval")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "how long the server is left alone after start, and after the deploys, before memory is read")
	flag.IntVar(&o.scripts, "scripts", 1000, "scripts to deploy")
	flag.IntVar(&o.warm, "warm", 100, "of them, how many are called (warm) before the idle and memory figures")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "how long wake-ups are counted with the warm scripts idle")
	flag.IntVar(&o.rounds, "rounds", 50, "cold starts and deploys measured")
	flag.IntVar(&o.parallel, "parallel", 4, "concurrent admin requests while deploying")
	flag.StringVar(&o.tracePath, "trace", "", "write every memory sample (ms, phase, server RSS KiB, workers RSS KiB, total PSS KiB) to this file")
	flag.BoolVar(&o.keepData, "keep", false, "keep the data directory")
	flag.Parse()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "memprobe:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.bin == "" {
		return errors.New("-bin is required")
	}
	if o.warm > o.scripts {
		return fmt.Errorf("-warm %d is more than -scripts %d", o.warm, o.scripts)
	}
	if o.rounds > o.scripts-o.warm {
		return fmt.Errorf("-rounds %d needs that many never-called scripts: -scripts - -warm is %d", o.rounds, o.scripts-o.warm)
	}
	dir, err := os.MkdirTemp("", "picloud-memprobe-")
	if err != nil {
		return err
	}
	if !o.keepData {
		defer os.RemoveAll(dir)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"serve"}
	if o.config != "" {
		args = append(args, "--config", o.config)
	}
	cmd := exec.Command(o.bin, args...)
	cmd.Env = append(os.Environ(),
		"PICLOUD_DATA_DIR="+filepath.Join(dir, "data"),
		fmt.Sprintf("PICLOUD_LISTEN=127.0.0.1:%d", port),
		"PICLOUD_ADMIN_USERNAME=", "PICLOUD_ADMIN_PASSWORD=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", o.bin, err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	setupToken := make(chan string, 1)
	var logTail tail
	go scanLog(stdout, setupToken, &logTail)

	rec := newRecorder(cmd.Process.Pid, start, o.sample)
	stopRec := rec.run()
	defer stopRec()
	fail := func(err error) error {
		return fmt.Errorf("%w\nthe end of the server's log:\n%s", err, logTail.String())
	}

	c := newClient(port)
	if err := c.waitHealthy(ctx, 30*time.Second); err != nil {
		return fail(err)
	}
	ready := time.Since(start)
	rec.phase("settle")
	if err := sleep(ctx, o.settle); err != nil {
		return err
	}
	settled := rec.last()

	var token string
	select {
	case token = <-setupToken:
	case <-time.After(5 * time.Second):
		return fail(errors.New("the server printed no setup link"))
	}
	rec.phase("setup")
	if err := c.setup(ctx, token); err != nil {
		return fail(err)
	}
	setupPeak := rec.peakSince("setup")

	rec.phase("deploy")
	t0 := time.Now()
	ids, err := deployAll(ctx, c, o.scripts, o.parallel)
	if err != nil {
		return fail(err)
	}
	deployTook := time.Since(t0)
	rec.phase("warm")
	for i := 0; i < o.warm; i++ {
		if _, _, err := c.call(ctx, i); err != nil {
			return fail(err)
		}
	}
	rec.phase("settle-deployed")
	if err := sleep(ctx, o.settle); err != nil {
		return err
	}
	deployed := rec.last()
	deployedPeak := rec.peakSince("deploy")

	rec.phase("idle")
	idle, err := measureIdle(ctx, cmd.Process.Pid, o.idle)
	if err != nil {
		return err
	}

	rec.phase("cold")
	cold := make([]time.Duration, 0, o.rounds)
	for i := 0; i < o.rounds; i++ {
		_, took, err := c.call(ctx, o.warm+i)
		if err != nil {
			return fail(err)
		}
		cold = append(cold, took)
	}
	rec.phase("redeploy")
	redeploys, firstCalls, err := measureDeploys(ctx, c, ids[0], o.rounds)
	if err != nil {
		return fail(err)
	}
	stopRec()
	if o.tracePath != "" {
		if err := rec.write(o.tracePath); err != nil {
			return err
		}
	}

	at1s := rec.at(time.Second)
	startPeak := rec.peakBefore("setup")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(out, "\nmemprobe: %s, %d scripts (%d warm), load average %s\n", o.bin, o.scripts, o.warm,
		strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(out, "healthy after %s\n", ready.Round(time.Millisecond))
	fmt.Fprintf(out, "%-44s %10s %11s %10s %10s %10s\n", "memory (MiB)", "server RSS", "server anon", "children", "RSS total", "PSS total")
	row := func(name string, s sample) {
		fmt.Fprintf(out, "%-44s %10.1f %11.1f %10.1f %10.1f %10.1f\n", name, mib(s.serverRSS), mib(s.serverAnon),
			mib(s.workersRSS), mib(s.serverRSS+s.workersRSS), mib(s.pss))
	}
	row("1 s after start", at1s)
	row("highest sample, start to settled", startPeak)
	row(fmt.Sprintf("settled (%s after healthy)", o.settle), settled)
	row("highest sample while the first admin is made", setupPeak)
	row(fmt.Sprintf("highest sample, deploying %d and warming %d", o.scripts, o.warm), deployedPeak)
	row(fmt.Sprintf("%d deployed, %d warm, settled", o.scripts, o.warm), deployed)
	fmt.Fprintf(out, "deploying %d scripts with routes took %s (%d at a time)\n", o.scripts, deployTook.Round(time.Millisecond), o.parallel)
	fmt.Fprintf(out, "\nidle %s with %d warm scripts:\n", o.idle, o.warm)
	idle.print(out)
	fmt.Fprintf(out, "\n%-44s %9s %9s %9s %9s\n", "latency", "p50", "p90", "p99", "max")
	dist := func(name string, d []time.Duration) {
		q := quantiles(d)
		fmt.Fprintf(out, "%-44s %9s %9s %9s %9s\n", name, ms(q[0]), ms(q[1]), ms(q[2]), ms(q[3]))
	}
	dist(fmt.Sprintf("cold start: first call of a deployed script (%d)", len(cold)), cold)
	dist(fmt.Sprintf("deploy (PUT) to first new answer (%d)", len(redeploys)), redeploys)
	dist("  of which: the call that first answered", firstCalls)
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var setupLink = regexp.MustCompile(`/admin/setup\?token=([A-Za-z0-9_-]+)`)

// scanLog reads the server's output, hands on the setup token and keeps
// the last lines for error messages.
func scanLog(r io.Reader, token chan<- string, t *tail) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		t.add(line)
		if m := setupLink.FindStringSubmatch(line); m != nil && !sent {
			token <- m[1]
			sent = true
		}
	}
}

// tail keeps the last lines written to it.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 40 {
		t.lines = t.lines[1:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
