//go:build pprof

package main

import (
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles, on http.DefaultServeMux
	"os"
	"strings"
)

// A binary built with -tags pprof (bench/profile.sh builds one) serves
// net/http/pprof on PICLOUD_PPROF (a loopback address such as
// 127.0.0.1:6060). Release builds link none of this.
func init() {
	addr := os.Getenv("PICLOUD_PPROF")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !(host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1") {
		slog.Error("PICLOUD_PPROF must be a loopback host:port", slog.String("addr", addr))
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", slog.Any("err", err))
		}
	}()
}
