package clientip_test

import (
	"net"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/clientip"
)

func TestClient(t *testing.T) {
	trusted, err := clientip.Parse([]string{"127.0.0.1", "127.0.1.0/24", " ::1 ", "::ffff:127.0.2.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header from a proxy", "127.0.0.1", nil, "127.0.0.1"},
		{"untrusted peer: header ignored", "127.0.0.9", []string{"127.0.0.7"}, "127.0.0.9"},
		{"one hop", "127.0.0.1", []string{"127.0.0.7"}, "127.0.0.7"},
		{"spoofed left of the real hop", "127.0.0.1", []string{"127.0.0.66, 127.0.0.7"}, "127.0.0.7"},
		{"through two trusted proxies", "127.0.0.1", []string{"127.0.0.66, 127.0.0.7, 127.0.1.5"}, "127.0.0.7"},
		{"several header lines, in order", "127.0.0.1", []string{"127.0.0.66", "127.0.0.7, 127.0.1.5"}, "127.0.0.7"},
		{"a mapped trusted peer", "::ffff:127.0.0.1", []string{"127.0.0.7"}, "127.0.0.7"},
		{"a mapped trusted hop", "127.0.0.1", []string{"127.0.0.7, ::ffff:127.0.2.9"}, "127.0.0.7"},
		{"an IPv6 proxy", "::1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"garbage stops at the last trusted hop", "127.0.0.1", []string{"127.0.0.7, nonsense, 127.0.1.5"}, "127.0.1.5"},
		{"garbage right at the proxy", "127.0.0.1", []string{"127.0.0.7, 127.0.0.8:80"}, "127.0.0.1"},
		{"only trusted hops: the leftmost", "127.0.0.1", []string{"127.0.1.1, 127.0.1.2"}, "127.0.1.1"},
		{"blank items skipped", "127.0.0.1", []string{"127.0.0.7,, ", ""}, "127.0.0.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines [][]byte
			for _, l := range tt.xff {
				lines = append(lines, []byte(l))
			}
			got := trusted.Client(net.ParseIP(tt.peer), lines)
			if !got.Equal(net.ParseIP(tt.want)) {
				t.Errorf("Client(%s, %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
	var none clientip.Trusted
	if got := none.Client(net.ParseIP("127.0.0.1"), [][]byte{[]byte("127.0.0.7")}); !got.Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("no trusted proxies: Client = %s, want the peer", got)
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "fe80::1%eth0", "10.0.0.1:80"} {
		if _, err := clientip.Parse([]string{bad}); err == nil || !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("Parse(%q) = %v, want an error naming the syntax", bad, err)
		}
	}
	tr, err := clientip.Parse([]string{"10.1.2.3/8"}) // host bits are dropped
	if err != nil || !tr.Contains(net.ParseIP("10.200.0.1")) || tr.Contains(net.ParseIP("11.0.0.1")) {
		t.Errorf("Parse(10.1.2.3/8) = %v, %v", tr, err)
	}
}
