package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// startTarget serves handler on 127.0.0.1 until the test ends and returns
// its base URL.
func startTarget(t *testing.T, handler fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

func hello(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/fail":
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
	case "/healthz":
		ctx.SetBodyString("ok")
	default:
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"hello":"world"}`)
	}
}

func quickOptions(url string) options {
	return options{url: url, conns: 4, duration: 200 * time.Millisecond, warmup: 50 * time.Millisecond, timeout: time.Second}
}

func TestRunCounts(t *testing.T) {
	base := startTarget(t, hello)
	tests := []struct {
		path       string
		wantNon2xx bool
	}{
		{"/", false},
		{"/fail", true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, err := run(context.Background(), quickOptions(base+tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests == 0 || res.RPS <= 0 || res.Errors != 0 {
				t.Fatalf("result %+v: want requests, no errors", res)
			}
			if want := map[bool]uint64{true: res.Requests, false: 0}[tc.wantNon2xx]; res.Non2xx != want {
				t.Errorf("non-2xx = %d, want %d of %d", res.Non2xx, want, res.Requests)
			}
			if res.P50us <= 0 || res.P50us > res.P99us || res.P99us > res.MaxUs {
				t.Errorf("latencies p50 %v p99 %v max %v out of order", res.P50us, res.P99us, res.MaxUs)
			}
			if res.Seconds < 0.2 || res.Seconds > 1 {
				t.Errorf("measured %vs, want about 0.2", res.Seconds)
			}
		})
	}
}

func TestRunAgainstDeadServer(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runMain(context.Background(), []string{"-url", "http://127.0.0.1:1/", "-c", "2", "-d", "100ms", "-warmup", "0s", "-json"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no response") {
		t.Fatalf("err = %v, want no response", err)
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if res.Errors == 0 || res.Requests != 0 || !strings.Contains(res.FirstError, "refused") {
		t.Errorf("result %+v: want errors, no requests, a connection error", res)
	}
}

func TestRunMainOutputs(t *testing.T) {
	base := startTarget(t, hello)
	quick := []string{"-c", "2", "-d", "100ms", "-warmup", "10ms"}
	tests := []struct {
		name string
		args []string
		want func(t *testing.T, out string)
	}{
		{"json", append([]string{"-url", base + "/", "-json"}, quick...), func(t *testing.T, out string) {
			var res result
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.Requests == 0 || res.Connections != 2 {
				t.Errorf("output %q (%v)", out, err)
			}
		}},
		{"text", append([]string{"-url", base + "/"}, quick...), func(t *testing.T, out string) {
			for _, want := range []string{"req/s", "p50", "p99", "non-2xx   0", "errors    0"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		}},
		{"wait", []string{"-url", base + "/healthz", "-wait", "2s"}, func(t *testing.T, out string) {
			if out != "ok" {
				t.Errorf("output %q, want the body", out)
			}
		}},
		{"freeport", []string{"-freeport"}, func(t *testing.T, out string) {
			port, err := strconv.Atoi(strings.TrimSpace(out))
			if err != nil || port <= 0 || port > 65535 {
				t.Errorf("output %q is not a port", out)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runMain(context.Background(), tc.args, &out, &errOut); err != nil {
				t.Fatalf("%v (stderr %s)", err, errOut.String())
			}
			tc.want(t, out.String())
		})
	}
}

func TestWaitGivesUp(t *testing.T) {
	base := startTarget(t, hello)
	start := time.Now()
	err := runMain(context.Background(), []string{"-url", base + "/fail", "-wait", "200ms"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Errorf("err = %v, want it to report status 500", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v, want about 200ms", d)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url", "127.0.0.1:8080"},
		{"-url", "ftp://x/"},
		{"-url", "http://x/", "-c", "0"},
		{"-url", "http://x/", "-d", "0s"},
	} {
		if err := runMain(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("runMain(%q) succeeded", args)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		url  string
		want target
	}{
		{"http://127.0.0.1:8080/", target{addr: "127.0.0.1:8080", host: "127.0.0.1:8080", uri: "/"}},
		{"http://localhost", target{addr: "localhost:80", host: "localhost", uri: "/"}},
		{"https://example.com/a?b=1", target{addr: "example.com:443", host: "example.com", uri: "/a?b=1", isTLS: true}},
		{"http://[::1]:9/x", target{addr: "[::1]:9", host: "[::1]:9", uri: "/x"}},
	}
	for _, tc := range tests {
		got, err := parseTarget(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}
