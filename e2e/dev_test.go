package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// devGreet is the dev test's script at revision n.
func devGreet(n int) string {
	return fmt.Sprintf(`package main

import "picloud"

//picloud:route GET /greet/:name
func Handle(req *picloud.Request) *picloud.Response {
	picloud.Log("revision %d")
	return picloud.Text(200, "v%d "+req.Params["name"])
}
`, n, n)
}

// get fetches url and returns the body, "" on any failure.
func get(url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestDevLoop runs `picloud dev` on a folder, saves the script 20 times
// and measures each time from the save to the new answer being served
// (printed; the median goes to docs/benchmarks.md). A broken save keeps
// the last good version serving, and calls are printed as they happen.
func TestDevLoop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hello-dev")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "greet.go")
	writeFiles(t, dir, map[string]string{"greet.go": devGreet(0)})
	c := newClient(t, "")
	stdout, stderr := c.start("dev", dir)
	// The admin API and UI answer on the dev server's admin host; the app
	// on the base domain, both on the port it listens on.
	devLine := regexp.MustCompile(`^Dev server at http://127\.0\.0\.1:(\d+) \(web UI: http://admin\.localhost:(\d+)/admin/,`)
	line, _ := stdout.wait(t, 0, devLine, 60*time.Second)
	m := devLine.FindStringSubmatch(line)
	if m[1] != m[2] {
		t.Fatalf("dev server and its admin host on different ports: %s", line)
	}
	base := "http://localhost:" + m[1]
	stdout.wait(t, 0, regexp.MustCompile(`^Serving app hello-dev at `+regexp.QuoteMeta(base)+`$`), 30*time.Second)
	stdout.wait(t, 0, regexp.MustCompile(`^\s+GET\s+`+regexp.QuoteMeta(base)+`/greet/:name$`), time.Second)
	if got := get(base + "/greet/x"); got != "v0 x" {
		t.Fatalf("first answer %q, want %q", got, "v0 x")
	}
	// The call is printed with its status, duration and log.
	_, next := stdout.wait(t, 0, regexp.MustCompile(` 200 +\S+  hello-dev/greet v1  GET /greet/x `), 5*time.Second)
	stdout.wait(t, next, regexp.MustCompile(`^  \| revision 0$`), time.Second)

	const saves = 20
	var took []time.Duration
	from := 0
	for n := 1; n <= saves; n++ {
		want := fmt.Sprintf("v%d x", n)
		start := time.Now()
		if err := os.WriteFile(file, []byte(devGreet(n)), 0o600); err != nil {
			t.Fatal(err)
		}
		for get(base+"/greet/x") != want {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("save %d not live within 10s; dev said:\n%s\n%s", n, stdout, stderr)
			}
			time.Sleep(time.Millisecond)
		}
		took = append(took, time.Since(start))
		_, from = stdout.wait(t, from, regexp.MustCompile(fmt.Sprintf(`^greet v%d live in \S+ \(greet\.go\)$`, n+1)), 5*time.Second)
	}
	slices.Sort(took)
	median := (took[saves/2-1] + took[saves/2]) / 2
	t.Logf("save-to-live over %d saves: median %s, fastest %s, slowest %s",
		saves, median.Round(100*time.Microsecond), took[0].Round(100*time.Microsecond), took[saves-1].Round(100*time.Microsecond))

	// A broken save is reported at its line and column; the last good
	// version keeps serving.
	if err := os.WriteFile(file, []byte(cliBroken), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.wait(t, 0, regexp.MustCompile(`greet\.go:6:9: undefined: undefinedThing$`), 10*time.Second)
	stderr.wait(t, 0, regexp.MustCompile(fmt.Sprintf(`^greet: v%d keeps serving$`, saves+1)), time.Second)
	if got := get(base + "/greet/x"); got != fmt.Sprintf("v%d x", saves) {
		t.Fatalf("after a broken save: %q, want the last good answer", got)
	}
	if strings.Contains(stdout.String(), "panic") {
		t.Fatalf("dev output:\n%s", stdout)
	}
}
