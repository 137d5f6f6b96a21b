package ingress

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
)

// requestHeaders copies the request's headers out of fasthttp's reused
// buffers.
func requestHeaders(h *fasthttp.RequestHeader) []actors.Header {
	out := make([]actors.Header, 0, h.Len())
	for k, v := range h.All() {
		out = append(out, actors.Header{Name: string(k), Value: string(v)})
	}
	return out
}

// allowedResponseHeader reports whether a script may set this header.
// Framing headers belong to the server, and a value with a line break
// would split the response.
func allowedResponseHeader(name, value string) bool {
	if name == "" || strings.ContainsAny(name, " \t\r\n:") || strings.ContainsAny(value, "\r\n\x00") {
		return false
	}
	switch strings.ToLower(name) {
	case "content-length", "transfer-encoding", "connection", "keep-alive",
		"upgrade", "te", "trailer", "proxy-connection", "x-request-id", "date", "server":
		return false
	}
	return true
}
