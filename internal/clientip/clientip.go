// Package clientip owns the answer to "which address is this client?"
// behind reverse proxies: the TCP peer, unless the peer is a proxy the
// operator trusts (server.trusted_proxies), in which case the client is
// the rightmost address of X-Forwarded-For that is not a trusted proxy.
//
// Rightmost, because each proxy appends the address it received the
// request from: what a client writes into the header itself stands to the
// left, and only the hops added by trusted proxies can be believed.
package clientip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"
)

// Trusted is the set of proxies whose X-Forwarded-For is believed. The
// zero value trusts none: every client is its TCP peer.
type Trusted struct {
	prefixes []netip.Prefix
}

// Parse reads a list of CIDR prefixes ("10.0.0.0/8", "fd00::/8") or
// single addresses ("127.0.0.1", a /32 or /128).
func Parse(list []string) (Trusted, error) {
	var t Trusted
	for _, s := range list {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return Trusted{}, fmt.Errorf("%q is not an address or a CIDR prefix such as 10.0.0.0/8", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		t.prefixes = append(t.prefixes, p.Masked())
	}
	return t, nil
}

// Empty reports whether no proxy is trusted.
func (t Trusted) Empty() bool { return len(t.prefixes) == 0 }

// Contains reports whether ip is a trusted proxy.
func (t Trusted) Contains(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && t.contains(a.Unmap())
}

func (t Trusted) contains(a netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the address of the client that sent a request which
// reached this server from peer with the given X-Forwarded-For header
// lines (in order; each may hold a comma-separated list). From a peer
// that is not trusted the header is ignored. Otherwise its hops are read
// from the right, skipping trusted proxies: the first that is not one is
// the client. A hop that is not an address stops the walk at the last
// trusted hop (that proxy is the best that can be said); a list made of
// trusted proxies only gives its leftmost.
func (t Trusted) Client(peer net.IP, forwarded [][]byte) net.IP {
	a, ok := netip.AddrFromSlice(peer)
	if !ok || !t.contains(a.Unmap()) {
		return peer
	}
	client := a.Unmap()
	for i := len(forwarded) - 1; i >= 0; i-- {
		line := forwarded[i]
		for len(line) > 0 {
			var hop []byte
			if j := bytes.LastIndexByte(line, ','); j >= 0 {
				hop, line = line[j+1:], line[:j]
			} else {
				hop, line = line, nil
			}
			hop = bytes.TrimSpace(hop)
			if len(hop) == 0 {
				continue
			}
			h, err := netip.ParseAddr(string(hop))
			if err != nil || h.Zone() != "" {
				return net.IP(client.AsSlice())
			}
			client = h.Unmap()
			if !t.contains(client) {
				return net.IP(client.AsSlice())
			}
		}
	}
	return net.IP(client.AsSlice())
}

// Of is the client of a fasthttp request (Client of its peer and its
// X-Forwarded-For lines).
func (t Trusted) Of(ctx *fasthttp.RequestCtx) net.IP {
	if t.Empty() {
		return ctx.RemoteIP()
	}
	return t.Client(ctx.RemoteIP(), ctx.Request.Header.PeekAll("X-Forwarded-For"))
}
