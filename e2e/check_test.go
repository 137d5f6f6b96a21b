package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Sources whose compile alone would take the server down if it were
// compiled there.
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

// sumChain is a handler computing x+x+...+x, size bytes of it.
func sumChain(size int) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\tx := 1\n\ty := x")
	for b.Len() < size {
		b.WriteString("+x")
	}
	b.WriteString("\n\treturn picloud.JSON(200, y)\n}\n")
	return b.String()
}

// checkBudget is the check_timeout of these tests.
const checkBudget = 3 * time.Second

// startChecking starts picloud with the admin user, isolation as given
// and a short check_timeout.
func startChecking(t *testing.T, isolation string, maxChecks int) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.hcl")
	hcl := fmt.Sprintf("data_dir = %q\n\nexecutor {\n  isolation = %q\n  memory_limit = \"128MiB\"\n  check_timeout = %q\n  max_checks = %d\n}\n",
		filepath.Join(dir, "data"), isolation, checkBudget, maxChecks)
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerArgs(t, []string{"--config", cfg}, adminEnv()...)
	s.token = s.login(adminName, adminPassword)
	return s
}

// healthProbe calls /healthz until stopped and keeps its slowest answer.
type healthProbe struct {
	stop    chan struct{}
	done    sync.WaitGroup
	slowest atomic.Int64
	failed  atomic.Int64
}

func (s *server) probeHealth() *healthProbe {
	p := &healthProbe{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	p.done.Go(func() {
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			// Not s.do: it fails the test, which only the test's own
			// goroutine may do.
			start := time.Now()
			r, err := client.Get(s.base + "/healthz")
			if err == nil {
				_ = r.Body.Close()
			}
			if err != nil || r.StatusCode != 200 {
				p.failed.Add(1)
			}
			if d := int64(time.Since(start)); d > p.slowest.Load() {
				p.slowest.Store(d)
			}
		}
	})
	return p
}

func (p *healthProbe) end() (slowest time.Duration, failed int64) {
	close(p.stop)
	p.done.Wait()
	return time.Duration(p.slowest.Load()), p.failed.Load()
}

// TestUploadBombsAreRefused uploads sources whose compile runs out of
// memory or time: each is refused with 422 and the limit named, while
// the server, in either isolation mode, keeps answering at once; a normal
// upload works afterwards. In-process, the first of them used to end the
// server (the Go runtime aborted out of memory).
func TestUploadBombsAreRefused(t *testing.T) {
	for _, isolation := range []string{"process", "none"} {
		t.Run(isolation, func(t *testing.T) {
			s := startChecking(t, isolation, 2)
			s.newApp(t, "shop")
			probe := s.probeHealth()
			bombs := []struct{ name, source string }{
				{"self-instantiating generic", selfInstantiation},
				{"generic fan-out", fanOut(22)},
				{"120 KB sum chain", sumChain(120 << 10)},
			}
			// The peak before the bombs (argon2 hashed the admin's
			// password with the race detector on: hundreds of MiB).
			before := peakRSS(t, s.cmd.Process.Pid)
			for _, b := range bombs {
				start := time.Now()
				r := s.do("POST", adminAPI+"/apps/shop/scripts", map[string]string{"name": "bomb", "source": b.source})
				expect(t, b.name, r, 422, `"code":"check_limit"`, `"field":"source"`, "the check of this script")
				if took := time.Since(start); took > checkBudget+3*time.Second {
					t.Errorf("%s: refused after %s", b.name, took)
				}
			}
			// What used to pass the check and fail every request.
			generic := "package main\n\nimport \"picloud\"\n\ntype Pair[K, V any] struct{ A K; B V }\n\n" +
				"func Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.JSON(200, map[string]any{\"p\": Pair[string, int]{\"a\", 1}})\n}\n"
			r := s.do("POST", adminAPI+"/apps/shop/scripts", map[string]string{"name": "generic", "source": generic})
			expect(t, "generic literal", r, 422, `"code":"compile_error"`, `"line":8`, `"column":47`)

			slowest, failed := probe.end()
			if failed > 0 || slowest > time.Second {
				t.Errorf("while the bombs were checked, /healthz failed %d times and took up to %s", failed, slowest)
			}
			s.addScript(t, "shop", "fine", `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "still here")
}
`, "/fine")
			expect(t, "call", s.do("GET", "/fine", nil, "Host", "shop.localhost"), 200, "still here")
			// Compiled in the server, each bomb would have added gigabytes.
			if grown := peakRSS(t, s.cmd.Process.Pid) - before; grown > 128<<20 {
				t.Errorf("the server's peak RSS grew by %d MiB", grown>>20)
			}
		})
	}
}

// TestConcurrentUploadsAreBounded uploads several bombs at once: no more
// checkers run than executor.max_checks, the others wait for a slot (503
// busy when none frees in time), and the server keeps answering.
func TestConcurrentUploadsAreBounded(t *testing.T) {
	const maxChecks, uploads = 2, 6
	s := startChecking(t, "process", maxChecks)
	s.newApp(t, "shop")
	probe := s.probeHealth()
	var most atomic.Int64
	stop := make(chan struct{})
	var counting sync.WaitGroup
	counting.Go(func() {
		for {
			if n := int64(checkers(s.cmd.Process.Pid)); n > most.Load() {
				most.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	var wg sync.WaitGroup
	statuses := make([]int, uploads)
	for i := range uploads {
		wg.Go(func() {
			r := s.do("POST", adminAPI+"/apps/shop/scripts", map[string]string{"name": "bomb" + strconv.Itoa(i), "source": selfInstantiation})
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	close(stop)
	counting.Wait()
	for i, st := range statuses {
		if st != 422 && st != 503 {
			t.Errorf("upload %d: status %d, want 422 or 503", i, st)
		}
	}
	if n := most.Load(); n == 0 || n > maxChecks {
		t.Errorf("%d checkers ran at once, want 1 to %d", n, maxChecks)
	}
	if slowest, failed := probe.end(); failed > 0 || slowest > time.Second {
		t.Errorf("/healthz failed %d times and took up to %s", failed, slowest)
	}
}

// checkers counts the `picloud check` children of pid.
func checkers(pid int) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after
		// its closing parenthesis.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
		if strings.HasSuffix(string(cmdline), "\x00check\x00") {
			n++
		}
	}
	return n
}

// peakRSS is the peak resident memory of pid (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
