package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// workers returns the pids of the live child processes of the server:
// its workers.
func (s *server) workers(t *testing.T) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		t.Skipf("no /proc to find the workers in: %v", err)
	}
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(s.cmd.Process.Pid) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

// TestRenamedAppKeepsItsWorker renames app x to y and creates a new app
// x: the renamed app keeps its worker, and the new one, which took over
// the slug, gets a worker of its own.
func TestRenamedAppKeepsItsWorker(t *testing.T) {
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
	s.newApp(t, "x")
	expect(t, "app x", s.do("GET", "/", nil, "Host", "x.localhost"), 200, `"app":"x"`)
	first := s.workers(t)
	if len(first) != 1 {
		t.Fatalf("workers after the first call: %v, want one", first)
	}

	expect(t, "rename x to y", s.do("PATCH", adminAPI+"/apps/x", map[string]string{"slug": "y"}), 200, `"slug":"y"`)
	expect(t, "app y", s.do("GET", "/", nil, "Host", "y.localhost"), 200, `"app":"y"`)
	if got := s.workers(t); !slices.Equal(got, first) {
		t.Errorf("workers after the rename: %v, want the app's own worker %v and no other", got, first)
	}

	s.newApp(t, "x")
	expect(t, "new app x", s.do("GET", "/", nil, "Host", "x.localhost"), 200, `"app":"x"`)
	expect(t, "app y again", s.do("GET", "/", nil, "Host", "y.localhost"), 200, `"app":"y"`)
	got := s.workers(t)
	if len(got) != 2 || !slices.Contains(got, first[0]) {
		t.Errorf("workers with the new app x: %v, want the renamed app's %d and one more", got, first[0])
	}
}
