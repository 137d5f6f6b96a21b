// Command bareserver is the baseline of `make bench`: a bare fasthttp
// server answering every request the way PiCloud's Hello World route does
// (status 200, the same Content-Type and body), with no routing, no
// actors and no script. PiCloud's throughput is reported as a fraction of
// this one's, measured by the same load generator in the same run.
//
// It prints "listening HOST:PORT" as its first line of output once the
// socket is bound, so a script can start it on port 0 and read the address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bareserver:", err)
		stop()
		os.Exit(1)
	}
}

// header is one extra response header, from -header "Name: value".
type header struct{ name, value string }

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bareserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	body := fs.String("body", `{"hello":"world"}`, "response body")
	contentType := fs.String("content-type", "application/json", "response Content-Type")
	var extra []header
	fs.Func("header", `extra response header "Name: value" (repeatable)`, func(s string) error {
		name, value, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return errors.New(`want "Name: value"`)
		}
		extra = append(extra, header{strings.TrimSpace(name), strings.TrimSpace(value)})
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "listening %s\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("print address: %w", err)
	}
	srv := &fasthttp.Server{Handler: handler([]byte(*body), *contentType, extra)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if err := srv.Shutdown(); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return <-done
}

// handler answers every request with status 200, contentType and body.
func handler(body []byte, contentType string, extra []header) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType(contentType)
		for _, h := range extra {
			ctx.Response.Header.Set(h.name, h.value)
		}
		ctx.SetBody(body)
	}
}
