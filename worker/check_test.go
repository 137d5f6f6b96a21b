package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/worker"
)

// envCheckChild makes the test binary act as `picloud check`. It is read
// in init, before TestMain (which host_test.go owns), so that a checker
// never runs tests.
const envCheckChild = "PICLOUD_CHECK_TEST_CHILD"

// envCheckProbe makes the test binary a checker that, once it has
// written its verdict, tries what a checker must not do (probe).
const envCheckProbe = "PICLOUD_CHECK_TEST_PROBE"

func init() {
	if dir := os.Getenv(envCheckProbe); dir != "" {
		if code := worker.RunCheck(context.Background(), os.Stdin, os.Stdout, worker.CheckOptions{}); code != 0 {
			os.Exit(code)
		}
		os.Exit(probe(dir))
	}
	if os.Getenv(envCheckChild) == "1" {
		opts, err := worker.CheckOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunCheck(context.Background(), os.Stdin, os.Stdout, opts))
	}
}

// newChecker returns a Checker whose checkers are this test binary.
func newChecker(t *testing.T, opts worker.CheckerOptions) *worker.Checker {
	t.Helper()
	opts.Command = []string{os.Args[0]}
	opts.Env = []string{envCheckChild + "=1"}
	opts.Logger = slog.New(slog.DiscardHandler)
	c, err := worker.NewChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// selfInstantiation is a generic function that instantiates itself with
// an ever larger type: yaegi compiles instantiations until it runs out
// of memory.
const selfInstantiation = `package main

import "picloud"

func F[T any](n int) int {
	if n == 0 {
		return 0
	}
	return F[[]T](n - 1)
}

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(200, F[int](3))
}
`

// fanOut instantiates generic functions in a tree, without recursion:
// 2^depth instantiations.
func fanOut(depth int) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport \"picloud\"\n\nfunc F0[T any]() int { var x T; _ = x; return 0 }\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "func F%d[T any]() int { return F%d[[]T]() + F%d[[2]T]() }\n", i, i-1, i-1)
	}
	fmt.Fprintf(&b, "\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.JSON(200, F%d[int]())\n}\n", depth)
	return b.String()
}

// sumChain is a handler computing x+x+...+x, size bytes of it: yaegi
// takes tens of seconds to compile 120 KB of it.
func sumChain(size int) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\tx := 1\n\ty := x")
	for b.Len() < size {
		b.WriteString("+x")
	}
	b.WriteString("\n\treturn picloud.JSON(200, y)\n}\n")
	return b.String()
}

func TestCheckerVerdicts(t *testing.T) {
	// Sources are checked with a generous time limit (a loaded machine
	// may take a while to start a race-built checker), bombs with a
	// tight one.
	generous := newChecker(t, worker.CheckerOptions{MemoryLimit: 128 << 20, Timeout: 20 * time.Second, MaxSource: 200 << 10})
	tight := newChecker(t, worker.CheckerOptions{MemoryLimit: 128 << 20, Timeout: 2 * time.Second, MaxSource: 200 << 10})
	tests := []struct {
		name   string
		source string
		// line > 0: a *sandbox.CompileError at line, containing want;
		// kind != nil: an error of that kind, containing want.
		line int
		kind error
		want string
	}{
		{name: "passes", source: hello},
		{name: "compile error", source: strings.Replace(hello, "req.Param", "req.Nope", 1), line: 6, want: "Nope"},
		{name: "initialiser panics", source: "package main\n\nimport \"picloud\"\n\nvar n = []int{}[1]\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n",
			line: 5, want: "index out of range"},
		{name: "generic literal in a map literal", source: "package main\n\nimport \"picloud\"\n\ntype P[K, V any] struct{ A K; B V }\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.JSON(200, map[string]any{\"p\": P[string, int]{\"a\", 1}})\n}\n",
			line: 8, want: "P[string, int]{...} as an element"},
		{name: "source too large", source: hello + strings.Repeat("//\n", 100<<10), kind: sandbox.ErrSourceTooLarge, want: "over the limit of 204800 bytes (executor.max_source)"},
		// Memory, or time where the race detector slows allocation down.
		{name: "self-instantiating generic", source: selfInstantiation, kind: sandbox.ErrCheckLimit, want: "the check of this script"},
		{name: "generic fan-out", source: fanOut(22), kind: sandbox.ErrCheckLimit, want: "the check of this script"},
		{name: "120 KB sum chain", source: sumChain(120 << 10), kind: sandbox.ErrCheckLimit, want: "the check of this script"},
		{name: "initialiser never ends", source: "package main\n\nimport \"picloud\"\n\nvar n = forever()\n\nfunc forever() int {\n\tfor {\n\t}\n}\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n",
			kind: sandbox.ErrCheckLimit, want: "took longer than 2s (executor.check_timeout)"},
		{name: "initialiser recurses", source: "package main\n\nimport \"picloud\"\n\nvar n = deep(0)\n\nfunc deep(i int) int { return deep(i+1) + 1 }\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n",
			kind: sandbox.ErrCheckLimit, want: "the check of this script"}, // a stack overflow, or time under the race detector
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := generous
			if errors.Is(tt.kind, sandbox.ErrCheckLimit) {
				c = tight
			}
			start := time.Now()
			err := c.Check(context.Background(), tt.source)
			took := time.Since(start)
			var ce *sandbox.CompileError
			switch {
			case tt.line == 0 && tt.kind == nil:
				if err != nil {
					t.Errorf("Check = %v, want it to pass", err)
				}
			case tt.line > 0:
				if !errors.As(err, &ce) || ce.Line != tt.line || !strings.Contains(ce.Message, tt.want) {
					t.Errorf("Check = %v, want %q at line %d", err, tt.want, tt.line)
				}
			default:
				if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Check = %v, want %v: %q", err, tt.kind, tt.want)
				}
			}
			// A bomb's check ends at its time limit, plus the time to
			// reap its process on a loaded machine.
			if c == tight && took > 2*time.Second+2*time.Second {
				t.Errorf("the check took %s", took)
			}
		})
	}
}

func TestCheckerBoundsConcurrentChecks(t *testing.T) {
	const checks, each = 3, 300 * time.Millisecond
	c := newChecker(t, worker.CheckerOptions{Concurrency: 1, Timeout: 10 * time.Second})
	slow := fmt.Sprintf("package main\n\nimport (\n\t\"picloud\"\n\t\"time\"\n)\n\nvar ready = wait()\n\nfunc wait() bool {\n\ttime.Sleep(%d)\n\treturn true\n}\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n", each)
	start := time.Now()
	var wg sync.WaitGroup
	for range checks {
		wg.Go(func() {
			if err := c.Check(context.Background(), slow); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// With one slot the checks ran one after the other.
	if took := time.Since(start); took < checks*each {
		t.Errorf("%d checks of %s each took %s: they ran at once", checks, each, took)
	}
}

func TestCheckerGivesUpWithItsContext(t *testing.T) {
	c := newChecker(t, worker.CheckerOptions{Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Check(ctx, sumChain(120<<10))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("Check = %v after %s, want the context's deadline at once", err, time.Since(start))
	}
}

// TestCheckProtocol runs the checker side on its own: source on stdin,
// one JSON verdict on stdout, exit code 0.
func TestCheckProtocol(t *testing.T) {
	tests := []struct {
		name, source, want string
	}{
		{"passes", hello, `{}`},
		{"compile error", "package main\n\nfunc Handle() {}\n", `{"error":{"line":3,"column":6,"message":"func Handle needs import \"picloud\": declare func Handle(req *picloud.Request) *picloud.Response"}}`},
		{"empty", "", `{"error":{"line":1,"column":1,"message":"expected 'package', found 'EOF'"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			code := worker.ServeCheck(context.Background(), strings.NewReader(tt.source), &out, worker.CheckOptions{})
			if code != 0 {
				t.Errorf("exit code %d", code)
			}
			if got := strings.TrimSpace(out.String()); got != tt.want {
				t.Errorf("verdict %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(out.String())) {
				t.Errorf("verdict is not JSON: %q", out.String())
			}
		})
	}
}

// TestConfinedCheckerCannotOpenRunOrConnect runs `picloud check` as the
// server does and then, in the same process, tries what the worker's
// filter forbids: the checker runs the initialisers of every upload, so
// it is held as a worker is.
func TestConfinedCheckerCannotOpenRunOrConnect(t *testing.T) {
	if err := worker.ConfineSupport(); err != nil {
		t.Skipf("no syscall filter here: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{envCheckProbe + "=" + dir}
	cmd.Stdin = strings.NewReader(hello)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("checker: %v\n%s", err, stderr.String())
	}
	verdict, rest, _ := bytes.Cut(out, []byte("\n"))
	if string(verdict) != "{}" {
		t.Fatalf("verdict %q, want {} (stderr %s)", verdict, stderr.String())
	}
	checkProbe(t, rest, dir)
}

// TestCheckerGetsNoSecretOfTheServer puts secrets in the server's
// environment and has a checker check a slow script: the checker's
// environment, read from /proc while it checks, holds none of them, and
// it runs with no_new_privs and a seccomp filter.
func TestCheckerGetsNoSecretOfTheServer(t *testing.T) {
	t.Setenv("PICLOUD_ADMIN_PASSWORD", "the admin password")
	t.Setenv("PICLOUD_DATABASE_URL", "postgres://user:secret@db/picloud")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "an operator secret")
	t.Setenv("GOGC", "150")
	c := newChecker(t, worker.CheckerOptions{Timeout: 20 * time.Second})
	slow := "package main\n\nimport (\n\t\"picloud\"\n\t\"time\"\n)\n\nvar ready = wait()\n\nfunc wait() bool {\n\ttime.Sleep(3 * time.Second)\n\treturn true\n}\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n"
	done := make(chan error, 1)
	go func() { done <- c.Check(context.Background(), slow) }()

	// The checker is the child of this process started with the
	// variable that makes the test binary a checker; once it compiles
	// the script it is confined.
	var env map[string]string
	var status string
	deadline := time.Now().Add(15 * time.Second)
	for env == nil || !strings.Contains(status, "Seccomp:\t2") {
		select {
		case err := <-done:
			t.Fatalf("the check ended (%v) before the checker was seen confined; environment %v, status:\n%s", err, env, status)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no confined checker seen; environment %v, status:\n%s", env, status)
		}
		pid, ok := childChecker(t)
		if ok {
			env = environOf(pid)
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err == nil {
				status = string(raw)
			}
			if err := worker.ConfineSupport(); err != nil && env != nil {
				t.Logf("no syscall filter here: %v", err)
				status = "Seccomp:\t2 (not checked)"
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Errorf("Check = %v", err)
	}
	for _, secret := range []string{"PICLOUD_ADMIN_PASSWORD", "PICLOUD_DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "PATH", "HOME"} {
		if v, ok := env[secret]; ok {
			t.Errorf("the checker inherited %s=%q", secret, v)
		}
	}
	for k, want := range map[string]string{"GOMAXPROCS": "1", "GOGC": "150", envCheckChild: "1"} {
		if env[k] != want {
			t.Errorf("checker's %s = %q, want %q (environment %v)", k, env[k], want, env)
		}
	}
	if !strings.Contains(status, "NoNewPrivs:\t1") && !strings.Contains(status, "not checked") {
		t.Errorf("checker status lacks NoNewPrivs:\n%s", status)
	}
}

// childChecker finds the checker this test started: a child of this
// process whose environment makes it a checker.
func childChecker(t *testing.T) (int, bool) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold blanks, so read
		// after its closing parenthesis.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if environOf(pid)[envCheckChild] == "1" {
			return pid, true
		}
	}
	return 0, false
}

// environOf is the environment process pid started with, or nil.
func environOf(pid int) map[string]string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil || len(raw) == 0 {
		return nil
	}
	env := map[string]string{}
	for kv := range strings.SplitSeq(strings.TrimRight(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// BenchmarkChecker is what checking a small script costs the server: a
// checker process started, the script compiled and loaded, the verdict
// read.
func BenchmarkChecker(b *testing.B) {
	opts := worker.CheckerOptions{Command: []string{os.Args[0]}, Env: []string{envCheckChild + "=1"}, Logger: slog.New(slog.DiscardHandler)}
	c, err := worker.NewChecker(opts)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.Check(context.Background(), hello); err != nil {
			b.Fatal(err)
		}
	}
}
