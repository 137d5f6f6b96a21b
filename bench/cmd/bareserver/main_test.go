package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startServer runs bareserver with args and returns its address; it is
// stopped, and must have exited cleanly, when the test ends.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, outW, io.Discard); _ = outW.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read first line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("first line %q, want \"listening 127.0.0.1:PORT\"", line)
	}
	return addr
}

func TestAnswersLikeHelloWorld(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		path        string
		contentType string
		body        string
		header      string
	}{
		{"defaults", nil, "/", "application/json", `{"hello":"world"}`, ""},
		{"any path", nil, "/some/where?x=1", "application/json", `{"hello":"world"}`, ""},
		{"flags", []string{"-body", "hi", "-content-type", "text/plain; charset=utf-8", "-header", "X-Request-Id: abc"},
			"/", "text/plain; charset=utf-8", "hi", "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, tc.args...)
			resp, err := http.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.contentType || string(body) != tc.body {
				t.Errorf("got %d %q %q, want 200 %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.contentType, tc.body)
			}
			if got := resp.Header.Get("X-Request-Id"); got != tc.header {
				t.Errorf("X-Request-Id = %q, want %q", got, tc.header)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-header", "nocolon"}, {"-listen", "nonsense"}, {"-nope"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
