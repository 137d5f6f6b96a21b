// Command slowreaders measures what slow readers of a large response cost
// a server: it opens -n connections, sends GET -url on each, reads the
// status line and stops reading, then reports how much the server's
// resident memory (VmRSS of -pid, from /proc) and, with -metrics, its Go
// heap (go_memstats_heap_inuse_bytes) grew per reader. It is a probe run
// by hand (docs/security.md says how), not a test: the figures depend on
// the machine's socket buffers and the garbage collector's timing.
//
// The kernel's socket buffers take the first few MiB of each response
// whatever the server does; -rcvbuf shrinks the client's receive buffer
// so that more of the body stays with the server, as with a reader far
// away or one that reads a byte a second.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "slowreaders:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("slowreaders", flag.ContinueOnError)
	target := fs.String("url", "", "URL of a large response, http://host:port/path")
	metrics := fs.String("metrics", "", "the server's /metrics URL (optional)")
	pid := fs.Int("pid", 0, "the server's process id (Linux: VmRSS is read from /proc)")
	n := fs.Int("n", 150, "slow readers")
	rcvbuf := fs.Int("rcvbuf", 4096, "receive buffer of each reader's socket, bytes (0: the system's)")
	settle := fs.Duration("settle", 3*time.Second, "wait after the last reader before measuring")
	warmup := fs.Int("warmup", 100, "requests read in full before the baseline, so the server's heap has settled")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" || *pid == 0 {
		return errors.New("-url and -pid are required")
	}
	for range *warmup {
		if err := readAll(u); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	time.Sleep(*settle)
	before, err := sample(*pid, *metrics)
	if err != nil {
		return err
	}
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	statuses := map[string]int{}
	for i := range *n {
		c, status, err := slowRead(u, *rcvbuf)
		if err != nil {
			return fmt.Errorf("reader %d: %w", i+1, err)
		}
		statuses[status]++
		conns = append(conns, c)
	}
	time.Sleep(*settle)
	after, err := sample(*pid, *metrics)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d slow readers of %s: %v\n", *n, u, statuses)
	fmt.Fprintf(stdout, "rss:  %s -> %s, %s per reader\n", mib(before.rss), mib(after.rss), mib((after.rss-before.rss)/int64(*n)))
	if *metrics != "" {
		fmt.Fprintf(stdout, "heap: %s -> %s, %s per reader\n", mib(before.heap), mib(after.heap), mib((after.heap-before.heap)/int64(*n)))
	}
	return nil
}

// readAll reads a whole response.
func readAll(u *url.URL) error {
	res, err := http.Get(u.String())
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// slowRead sends the request and reads the status line, then stops.
func slowRead(u *url.URL, rcvbuf int) (net.Conn, string, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if rcvbuf > 0 {
		// Set before connect, so the window the server sees is small.
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		return nil, "", err
	}
	req, _ := http.NewRequest("GET", u.String(), nil)
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil {
		c.Close()
		return nil, "", fmt.Errorf("status line %q: %w", line, err)
	}
	status, _, _ := strings.Cut(strings.TrimPrefix(line, "HTTP/1.1 "), " ")
	return c, status, nil
}

type memory struct{ rss, heap int64 }

func sample(pid int, metrics string) (memory, error) {
	var m memory
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return m, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return m, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			m.rss = kb << 10
		}
	}
	if metrics == "" {
		return m, nil
	}
	res, err := http.Get(metrics)
	if err != nil {
		return m, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return m, err
			}
			m.heap = int64(f)
		}
	}
	return m, sc.Err()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
