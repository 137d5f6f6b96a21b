package fetch

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Address classes, as refusals name them.
const (
	classLoopback    = "a loopback address"
	classPrivate     = "a private address"
	classLinkLocal   = "a link-local address"
	classMetadata    = "a cloud metadata address"
	classUnspecified = "an unspecified address"
	classMulticast   = "a multicast or broadcast address"
	classReserved    = "a reserved or documentation address"
)

// rangeClass is a range of addresses and what it is.
type rangeClass struct {
	prefix netip.Prefix
	class  string
}

// metadataRanges are refused even where private addresses are allowed:
// they hand out the credentials of the machine.
func metadataRanges() []rangeClass {
	return classes(classMetadata,
		"169.254.169.254/32", // AWS, GCP, Azure, OpenStack, DigitalOcean...
		"169.254.170.2/32",   // AWS ECS task metadata
		"100.100.100.200/32", // Alibaba Cloud
		"168.63.129.16/32",   // Azure wire server
		"fd00:ec2::/32",      // AWS over IPv6 (fd00:ec2::254 and its resolver)
	)
}

// privateRanges are refused unless private addresses are allowed.
func privateRanges() []rangeClass {
	return append(classes(classLoopback, "127.0.0.0/8", "::1/128"),
		classes(classPrivate, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
			"100.64.0.0/10", // carrier-grade NAT
			"fc00::/7",      // unique local
		)...)
}

// refusedRanges are always refused.
func refusedRanges() []rangeClass {
	out := classes(classUnspecified, "0.0.0.0/8", "::/128")
	out = append(out, classes(classLinkLocal, "169.254.0.0/16", "fe80::/10", "fec0::/10")...)
	out = append(out, classes(classMulticast, "224.0.0.0/4", "255.255.255.255/32", "ff00::/8")...)
	return append(out, classes(classReserved,
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4",
		"::/96",          // IPv4-compatible, deprecated
		"100::/64",       // discard
		"2001::/23",      // IETF protocol assignments, Teredo among them
		"2001:db8::/32",  // documentation
		"3fff::/20",      // documentation
		"64:ff9b:1::/48", // local-use NAT64
	)...)
}

func classes(class string, prefixes ...string) []rangeClass {
	out := make([]rangeClass, len(prefixes))
	for i, p := range prefixes {
		out[i] = rangeClass{netip.MustParsePrefix(p), class}
	}
	return out
}

// addrPolicy decides which addresses a fetch may connect to.
type addrPolicy struct {
	allowPrivate bool
	metadata     []rangeClass
	private      []rangeClass
	refused      []rangeClass
}

func newAddrPolicy(allowPrivate bool) *addrPolicy {
	return &addrPolicy{allowPrivate: allowPrivate, metadata: metadataRanges(), private: privateRanges(), refused: refusedRanges()}
}

// check returns why ip may not be connected to, or "" when it may.
func (p *addrPolicy) check(ip netip.Addr) string {
	if !ip.IsValid() {
		return "an invalid address"
	}
	if ip.Zone() != "" {
		return "an address with a zone"
	}
	ip = ip.Unmap()
	if ip.Is6() {
		// NAT64 and 6to4 carry an IPv4 address that is what is reached.
		if embedded, ok := embeddedIPv4(ip); ok {
			if why := p.check(embedded); why != "" {
				return why + " (embedded in " + ip.String() + ")"
			}
		}
	}
	for _, r := range p.metadata {
		if r.prefix.Contains(ip) {
			return r.class
		}
	}
	for _, r := range p.private {
		if r.prefix.Contains(ip) {
			if p.allowPrivate {
				return ""
			}
			return r.class
		}
	}
	for _, r := range p.refused {
		if r.prefix.Contains(ip) {
			return r.class
		}
	}
	return ""
}

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address a NAT64 or 6to4 address reaches.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixTo4.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// literalAddr reads host as an IP address the way resolvers and browsers
// would: a plain IPv4 or IPv6 literal (brackets stripped), or one of the
// legacy IPv4 spellings inet_aton takes ("127.1", "0x7f000001",
// "2130706433", "0177.0.0.1"). ok is false for a host name.
func literalAddr(host string) (netip.Addr, bool, error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip, true, nil
	}
	if strings.Contains(h, ":") {
		return netip.Addr{}, false, fmt.Errorf("host %q is not a valid IPv6 address", host)
	}
	if ip, ok := legacyIPv4(h); ok {
		return ip, true, nil
	}
	return netip.Addr{}, false, nil
}

// legacyIPv4 parses the inet_aton forms of an IPv4 address: one to four
// parts, each decimal, octal (leading 0) or hex (0x), the last part
// filling the remaining bytes.
func legacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || s == "" {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
			p, base = p[2:], 16
		case len(p) > 1 && p[0] == '0':
			p, base = p[1:], 8
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
