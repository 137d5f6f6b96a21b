package ingress

import (
	"net"
	"testing"
)

// TestClientKey: an IPv4 client is its address, an IPv6 client its /64
// (what one host is usually given), and an IPv4-mapped IPv6 address the
// IPv4 client.
func TestClientKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 1}, "127.0.0.2/32"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7").To4(), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1"), Port: 1}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff:ffff:ffff:ffff"), Port: 1}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "fe80::/64"},
		{&net.UDPAddr{IP: net.ParseIP("192.0.2.8"), Port: 1}, "192.0.2.8/32"},
	}
	for _, tt := range tests {
		key, ok := clientKey(tt.addr)
		if !ok || key.String() != tt.want {
			t.Errorf("clientKey(%v) = %v, %v; want %s", tt.addr, key, ok, tt.want)
		}
	}
	for _, addr := range []net.Addr{&net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, pipeAddr{}, &net.TCPAddr{}} {
		if key, ok := clientKey(addr); ok {
			t.Errorf("clientKey(%v) = %v, want no client", addr, key)
		}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

func TestMaxConnectionsFor(t *testing.T) {
	tests := []struct {
		files uint64
		want  int
	}{
		{0, 768},
		{1024, 768},
		{4096, 3072},
		{256, 192},
		{200, 136},
		{128, 64},
		{100, 50},
		{1, 1},
		{1 << 20, maxAutoConnections},
		{1 << 62, maxAutoConnections},
	}
	for _, tt := range tests {
		if got := MaxConnectionsFor(tt.files); got != tt.want {
			t.Errorf("MaxConnectionsFor(%d) = %d, want %d", tt.files, got, tt.want)
		}
	}
}
