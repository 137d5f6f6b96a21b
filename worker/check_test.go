package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
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

func init() {
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
			code := worker.RunCheck(context.Background(), strings.NewReader(tt.source), &out, worker.CheckOptions{})
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
