package fetch

import (
	"errors"
	"net/netip"
	"testing"
)

func TestLegacyIPv4(t *testing.T) {
	cases := map[string]string{
		"127.1": "127.0.0.1", "0x7f000001": "127.0.0.1", "2130706433": "127.0.0.1",
		"0177.0.0.1": "127.0.0.1", "10.1.65535": "10.1.255.255", "0": "0.0.0.0",
	}
	for in, want := range cases {
		ip, ok := legacyIPv4(in)
		if !ok || ip != netip.MustParseAddr(want) {
			t.Errorf("legacyIPv4(%q) = %v, %v; want %s", in, ip, ok, want)
		}
	}
	for _, in := range []string{"example.com", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "0x", "", "1..2", "4294967296"} {
		if ip, ok := legacyIPv4(in); ok {
			t.Errorf("legacyIPv4(%q) = %v, want no address", in, ip)
		}
	}
}

// TestControl: the socket hook refuses forbidden addresses on its own,
// whatever the resolver said. It is called here directly: no socket.
func TestControl(t *testing.T) {
	strict := New(Options{})
	open := New(Options{AllowPrivate: true})
	cases := []struct {
		addr          string
		strict, open_ bool // allowed?
	}{
		{"93.184.216.34:443", true, true},
		{"[2606:4700::1]:443", true, true},
		{"127.0.0.1:80", false, true},
		{"10.0.0.1:80", false, true},
		{"[::1]:80", false, true},
		{"169.254.169.254:80", false, false},
		{"[fd00:ec2::254]:80", false, false},
		{"0.0.0.0:80", false, false},
		{"[fe80::1]:80", false, false},
		{"[::ffff:169.254.169.254]:80", false, false},
		{"[64:ff9b::a9fe:a9fe]:80", false, false},
		{"[2002:a9fe:a9fe::1]:80", false, false},
	}
	for _, c := range cases {
		for _, side := range []struct {
			name    string
			client  *Client
			allowed bool
		}{{"strict", strict, c.strict}, {"allow_private", open, c.open_}} {
			err := side.client.control("tcp", c.addr, nil)
			if side.allowed != (err == nil) {
				t.Errorf("%s: control(%s) = %v, want allowed %v", side.name, c.addr, err, side.allowed)
			}
			if err != nil && !errors.Is(err, ErrRefused) {
				t.Errorf("%s: control(%s) = %v, not a refusal", side.name, c.addr, err)
			}
		}
	}
}
