// Command loadgen is PiCloud's HTTP load generator, a small wrk written in
// Go so that `make bench` needs nothing but the Go toolchain.
//
// It keeps -c keep-alive connections busy with GET -url, one request in
// flight per connection (no pipelining), for -warmup and then -d, and
// reports what completed during -d: requests/s, p50/p99/max latency,
// non-2xx responses and errors (as text, or one JSON object with -json).
//
// On a 2-core machine the client and the server under test share the
// cores, so every cycle loadgen spends is one the server does not get:
// absolute req/s understate the server, and only a ratio between two
// servers measured the same way in the same run (bench/run.sh) means much.
// To keep its own share small, each connection is driven by one goroutine
// with its own fasthttp.HostClient (no shared pool lock), reused
// request/response objects (no allocation per request) and a fixed-size
// latency histogram per goroutine (no lock, no allocation per sample).
// GOMAXPROCS can cap its cores further.
//
// Two helper modes serve scripts:
//
//	loadgen -freeport                  print a free TCP port on 127.0.0.1
//	loadgen -url URL -wait 30s         poll URL until it answers 200, print the body
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// waitInterval is how often -wait polls.
const waitInterval = 50 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		stop()
		os.Exit(1)
	}
}

// runMain parses args and runs the chosen mode.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts options
	fs.StringVar(&opts.url, "url", "", "target URL, http://host:port/path")
	fs.IntVar(&opts.conns, "c", 64, "concurrent keep-alive connections")
	fs.DurationVar(&opts.duration, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&opts.warmup, "warmup", 2*time.Second, "unmeasured warm-up before -d")
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Second, "timeout of one request")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	freePort := fs.Bool("freeport", false, "print a free TCP port on 127.0.0.1 and exit")
	wait := fs.Duration("wait", 0, "instead of load, poll -url until it answers 200 (at most this long) and print its body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *freePort:
		return printFreePort(stdout)
	case opts.url == "":
		return fmt.Errorf("-url is required")
	case *wait > 0:
		return waitFor200(ctx, opts.url, *wait, stdout)
	}
	res, err := run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(res)
	} else {
		err = printText(stdout, res, opts)
	}
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if res.Requests == 0 {
		return fmt.Errorf("no response from %s (first error: %s)", opts.url, res.FirstError)
	}
	return nil
}

func printText(w io.Writer, r *result, opts options) error {
	us := func(v float64) time.Duration {
		return time.Duration(v * float64(time.Microsecond)).Round(time.Microsecond)
	}
	_, err := fmt.Fprintf(w, `%s: %d connections, %s after %s warm-up
  requests  %d in %.2fs, %.0f req/s
  latency   p50 %v  p99 %v  max %v
  non-2xx   %d
  errors    %d
`, r.URL, r.Connections, opts.duration, opts.warmup, r.Requests, r.Seconds, r.RPS,
		us(r.P50us), us(r.P99us), us(r.MaxUs), r.Non2xx, r.Errors)
	if err == nil && r.FirstError != "" {
		_, err = fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	return err
}

// printFreePort asks the kernel for a free port. Another process may take
// it before the caller binds it; for a benchmark script that is rare enough.
func printFreePort(w io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	_, err = fmt.Fprintln(w, port)
	return err
}

// waitFor200 polls url until it answers 200 and prints the body, or fails
// after limit with the last status or error.
func waitFor200(ctx context.Context, url string, limit time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	client := &fasthttp.Client{NoDefaultUserAgentHeader: true}
	var last string
	for {
		req.SetRequestURI(url)
		err := client.DoTimeout(req, resp, waitInterval*10)
		switch {
		case err == nil && resp.StatusCode() == fasthttp.StatusOK:
			_, err = stdout.Write(resp.Body())
			return err
		case err == nil:
			last = fmt.Sprintf("status %d, body %q", resp.StatusCode(), resp.Body())
		default:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200 within %s (last: %s)", url, limit, last)
		case <-time.After(waitInterval):
		}
	}
}
