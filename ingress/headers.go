package ingress

import (
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
)

// requestHeaders copies the request's headers out of fasthttp's reused
// buffers. Every name and value is a slice of one string: two
// allocations per request instead of two per header.
func requestHeaders(h *fasthttp.RequestHeader) []actors.Header {
	size, n := 0, 0
	for k, v := range h.All() {
		size += len(k) + len(v)
		n++
	}
	if n == 0 {
		return nil
	}
	var b strings.Builder
	b.Grow(size)
	for k, v := range h.All() {
		b.Write(k)
		b.Write(v)
	}
	all := b.String()
	out := make([]actors.Header, 0, n)
	at := 0
	for k, v := range h.All() {
		name := all[at : at+len(k)]
		at += len(k)
		out = append(out, actors.Header{Name: name, Value: all[at : at+len(v)]})
		at += len(v)
	}
	return out
}

// setResponseHeaders sets the headers a script may set on h and returns
// a note for each one it dropped, naming the header and why. Ingress is
// the one place every script response passes (in-process or from a
// worker), so this is the only check.
func setResponseHeaders(h *fasthttp.ResponseHeader, headers []actors.Header) (dropped []string) {
	more := 0
	for i, hd := range headers {
		why := refuseResponseHeader(hd.Name, hd.Value)
		switch {
		case why == "" && setBefore(headers[:i], hd.Name):
			// A second value of a header (AddHeader): both go out.
			h.Add(hd.Name, hd.Value)
		case why == "":
			// The first replaces fasthttp's default (Content-Type).
			h.Set(hd.Name, hd.Value)
		case len(dropped) < maxDropNotes:
			dropped = append(dropped, "response header "+quoteName(hd.Name)+" dropped: "+why)
		default:
			more++
		}
	}
	if more > 0 {
		dropped = append(dropped, strconv.Itoa(more)+" more response headers dropped")
	}
	return dropped
}

// setBefore reports whether a header named name (any case) comes in
// headers. A script's headers are few, so the scan is cheaper than a set.
func setBefore(headers []actors.Header, name string) bool {
	for _, hd := range headers {
		if strings.EqualFold(hd.Name, name) {
			return true
		}
	}
	return false
}

// maxDropNotes bounds the notes of one response: a script that sets a
// thousand bad headers is told about the first few.
const maxDropNotes = 16

// quoteName quotes a header name for a note, escaping what is not
// printable and cutting a long one.
func quoteName(name string) string {
	const most = 64
	if len(name) > most {
		return strconv.Quote(name[:most]) + "..."
	}
	return strconv.Quote(name)
}

// refuseResponseHeader says why a script may not set this header, or ""
// when it may. A name must be an RFC 9110 token; a value must not hold
// control characters other than HTAB (a CR or LF would split the
// response, a NUL cut it); hop-by-hop and framing headers belong to the
// server, which decides how the body is delimited and what the
// connection does next.
func refuseResponseHeader(name, value string) string {
	switch {
	case name == "":
		return "empty name"
	case !isToken(name):
		return "name is not an HTTP token (RFC 9110: letters, digits and !#$%&'*+-.^_`|~)"
	case !isFieldValue(value):
		return "value holds a control character"
	}
	var lower [24]byte // longer than every name below
	if len(name) > len(lower) {
		return ""
	}
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(name)]) {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
		"proxy-authenticate", "proxy-authorization":
		return "hop-by-hop header, the server's to set"
	case "content-length":
		return "framing header, the server's to set"
	case "x-request-id", "date", "server":
		return "set by the server"
	}
	return ""
}

// isToken reports whether s is an RFC 9110 token: 1*tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isFieldValue reports whether s is an RFC 9110 field value: visible
// ASCII, space, HTAB and obs-text (bytes 0x80-0xFF), no other control
// characters (0x00-0x1F, 0x7F).
func isFieldValue(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// setErrorHeaders sets the headers the router gives an error result: the
// Allow of a 405, and nothing else (a script's headers never reach an
// error answer).
func setErrorHeaders(h *fasthttp.ResponseHeader, res *actors.Result) {
	if res.ErrCode != actors.CodeMethodNotAllowed {
		return
	}
	for _, hd := range res.Headers {
		if hd.Name == "Allow" {
			h.Set(hd.Name, hd.Value)
		}
	}
}
