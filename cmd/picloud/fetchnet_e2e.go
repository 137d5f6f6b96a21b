//go:build e2e

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/picloud/picloud/fetch"
)

// testHostsEnv names the host table of this test build's picloud.Fetch:
// "name=ip,name=ip". Names not in it do not resolve: no lookup ever
// leaves the machine. testDialsEnv maps addresses a test pretends are
// public to its local servers: "ip:port=127.0.0.1:port,...".
const (
	testHostsEnv = "PICLOUD_TEST_HOSTS"
	testDialsEnv = "PICLOUD_TEST_DIALS"
)

// fetchNetwork gives end-to-end tests a network that cannot reach past
// the loopback: names resolve from PICLOUD_TEST_HOSTS only, dials go
// where PICLOUD_TEST_DIALS sends them, and a dial to anything but
// 127.0.0.0/8 or ::1 is refused (and reported on stderr), so a faulty
// guard fails a test instead of sending a packet.
func fetchNetwork(getenv func(string) string) (fetch.Resolver, fetch.DialFunc) {
	hosts := map[string][]netip.Addr{}
	for pair := range strings.SplitSeq(getenv(testHostsEnv), ",") {
		name, ip, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			continue
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", testHostsEnv, err))
		}
		hosts[name] = append(hosts[name], addr)
	}
	dials := map[string]string{}
	for pair := range strings.SplitSeq(getenv(testDialsEnv), ",") {
		if from, to, ok := strings.Cut(strings.TrimSpace(pair), "="); ok {
			dials[from] = to
		}
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := dials[addr]; ok {
			addr = to
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			fmt.Fprintf(os.Stderr, "E2E-DIAL-REFUSED %s\n", addr)
			return nil, fmt.Errorf("e2e build: dial to %s refused", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return stubHosts(hosts), dial
}

type stubHosts map[string][]netip.Addr

func (h stubHosts) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if addrs, ok := h[host]; ok {
		return addrs, nil
	}
	return nil, fmt.Errorf("e2e build: no such host %q", host)
}
