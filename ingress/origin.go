package ingress

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
)

// The admin origin. The admin UI, the admin API and /api/v1/execute live
// on one configured host (Options.AdminHost) and on no other; no app ever
// answers that host. A browser keeps the admin's session cookie for that
// origin alone, so a page a script serves (on any other host) is another
// origin: it cannot read the admin's answers, and its requests either
// carry no cookie or are refused by the admin API's origin checks.

// Headers of every answer on the admin host, replacing any a script run
// through execute set. The UI's pages and execute's answers bring their
// own Content-Security-Policy.
var adminHostHeaders = [...][2]string{
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
}

// executeCSP is the policy of a script's answer to /api/v1/execute: a
// document made of it runs in a unique opaque origin (sandbox without
// allow-same-origin), never as the admin origin, and loads nothing.
const executeCSP = "sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// isAdminHost reports whether host, a raw Host header, names the admin
// host: compared without case, port or trailing dot, and with the
// brackets of an IPv6 literal removed.
func (s *Server) isAdminHost(host []byte) bool {
	return s.opts.AdminHost != "" && bytes.EqualFold(hostname(host), []byte(s.opts.AdminHost))
}

// hostname is the host part of a Host header: without port, brackets
// and trailing dot. It does not allocate.
func hostname(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i > 0 {
			return host[1:i]
		}
		return nil
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return bytes.TrimSuffix(host, []byte("."))
}

// serveAdminHost answers a request to the admin host: the admin API, its
// OpenAPI description, the UI and execute; "/" goes to the UI; anything else is 404, because no
// app answers this host. The security headers are set after the handler,
// which may have reset the response.
func (s *Server) serveAdminHost(ctx *fasthttp.RequestCtx, id string) {
	h := &ctx.Response.Header
	path := ctx.Path()
	switch {
	case hasPathPrefix(path, prefixAdminAPI):
		s.serveOr404(ctx, s.opts.Admin)
	case string(path) == pathOpenAPI:
		// Beside the API it describes: its server URL is relative.
		s.serveOr404(ctx, s.opts.OpenAPI)
	case bytes.HasPrefix(path, []byte(prefixExecute)):
		s.execute(ctx, id)
		// Whatever the script said, its answer is inert on this origin.
		h.Set("Content-Security-Policy", executeCSP)
	case hasPathPrefix(path, prefixUI):
		s.serveOr404(ctx, s.opts.UI)
	case string(path) == "/":
		h.Set("Location", prefixUI+"/")
		apierror.Writef(ctx, fasthttp.StatusFound, "moved", "the admin UI is at "+prefixUI+"/")
	default:
		apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found",
			"this is the admin host: no app answers it (the admin UI is at "+prefixUI+"/)")
	}
	for _, kv := range adminHostHeaders {
		if kv[0] == "Content-Security-Policy" && len(h.Peek(kv[0])) > 0 {
			continue // the UI's page policy, or execute's sandbox
		}
		h.Set(kv[0], kv[1])
	}
}

// notOnThisHost answers 404 for a path that exists only on the admin
// host (or, for /metrics, only on the metrics listener). It names the
// config key, not the admin host: callers of apps need not learn it.
func notOnThisHost(ctx *fasthttp.RequestCtx, path []byte) {
	msg := "no endpoint " + strconv.Quote(string(path)) + " on this host"
	switch {
	case string(path) == "/metrics":
		msg = "metrics are served only on the listener of server.metrics_listen"
	case hasPathPrefix(path, prefixUI), hasPathPrefix(path, prefixAdminAPI), bytes.HasPrefix(path, []byte(prefixExecute)),
		string(path) == pathOpenAPI:
		msg = "the admin UI and API answer only on the admin host (server.admin_host)"
	}
	apierror.Writef(ctx, fasthttp.StatusNotFound, "not_found", msg)
}

// filterScriptCookies removes the Set-Cookie headers a script may not
// send: all of them when all is set (an answer served on the admin
// origin), else those that would set the admin session cookie, in any
// spelling a browser would take for it. It returns a note for the
// invocation's log naming what went, or "".
func (s *Server) filterScriptCookies(ctx *fasthttp.RequestCtx, all bool) string {
	h := &ctx.Response.Header
	var kept [][]byte
	var dropped []string
	for _, v := range h.Cookies() {
		if all || s.setsSessionCookie(v) {
			dropped = append(dropped, strconv.Quote(string(cookieNameOf(v))))
			continue
		}
		kept = append(kept, bytes.Clone(v))
	}
	if len(dropped) == 0 {
		return ""
	}
	h.DelAllCookies()
	for _, v := range kept {
		h.AddBytesV(fasthttp.HeaderSetCookie, v)
	}
	why := "scripts may not set the admin session cookie"
	if all {
		why = "a script run through " + prefixExecute + " is served on the admin origin and may set no cookie"
	}
	return "picloud: dropped Set-Cookie " + strings.Join(dropped, ", ") + ": " + why
}

// setsSessionCookie reports whether a Set-Cookie value would set a cookie
// that a browser sends as the session cookie: its name, with any
// __Host- or __Secure- prefix and surrounding blanks removed, is the
// session cookie's in any case; or it has no name (no "=", or an empty
// one) and its value starts with that name, which browsers send as if it
// were the name.
func (s *Server) setsSessionCookie(v []byte) bool {
	if s.opts.SessionCookie == "" {
		return false
	}
	pair, _, _ := bytes.Cut(v, []byte(";"))
	name, value, ok := bytes.Cut(pair, []byte("="))
	if !ok {
		name, value = nil, pair
	}
	if s.isSessionName(name) {
		return true
	}
	if len(bytes.TrimSpace(name)) == 0 {
		inner, _, _ := bytes.Cut(value, []byte("="))
		return s.isSessionName(inner)
	}
	return false
}

func (s *Server) isSessionName(name []byte) bool {
	n := strings.ToLower(string(bytes.TrimSpace(name)))
	for _, prefix := range []string{"__host-", "__secure-"} {
		n = strings.TrimPrefix(n, prefix)
	}
	return n == strings.ToLower(s.opts.SessionCookie)
}

// cookieNameOf is the name part of a Set-Cookie value, for the log.
func cookieNameOf(v []byte) []byte {
	pair, _, _ := bytes.Cut(v, []byte(";"))
	name, _, _ := bytes.Cut(pair, []byte("="))
	return bytes.TrimSpace(name)
}

// appendNote adds a line from PiCloud to a script's output.
func appendNote(output, note string) string {
	if output != "" && !strings.HasSuffix(output, "\n") {
		output += "\n"
	}
	return output + note + "\n"
}
