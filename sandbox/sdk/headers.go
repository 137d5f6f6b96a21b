package sdk

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// Header is one header line of a response: a name and one value.
type Header struct {
	Name  string
	Value string
}

// AddHeader adds a value to the header name, keeping the values already
// there (in Headers or added before): a response that sets two cookies, or
// two Link headers, adds both. Added headers go out after Headers, in the
// order they were added.
func (r *Response) AddHeader(name, value string) {
	if r == nil {
		return
	}
	r.Added = append(r.Added, Header{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value})
}

// Cookie is a cookie a response sets (resp.SetCookie) with its attributes,
// as in net/http.
type Cookie struct {
	Name   string
	Value  string
	Path   string
	Domain string
	// MaxAge > 0 is the cookie's lifetime in seconds; < 0 deletes it at
	// once (Max-Age=0); 0 leaves Max-Age out.
	MaxAge   int
	Expires  time.Time
	Secure   bool
	HttpOnly bool
	// SameSite is "Strict", "Lax", "None" or "" (left out).
	SameSite string
}

// SetCookie adds a Set-Cookie header for c. It returns an error, and adds
// nothing, when the cookie's name is not a valid cookie name or SameSite
// is not one of "Strict", "Lax", "None" and "". Invalid characters in the
// value, path and domain are left out, as net/http does.
func (r *Response) SetCookie(c *Cookie) error {
	if r == nil || c == nil {
		return errorString("picloud: SetCookie of a nil cookie or response")
	}
	hc := &http.Cookie{
		Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain,
		MaxAge: c.MaxAge, Expires: c.Expires, Secure: c.Secure, HttpOnly: c.HttpOnly,
	}
	switch strings.ToLower(c.SameSite) {
	case "":
	case "strict":
		hc.SameSite = http.SameSiteStrictMode
	case "lax":
		hc.SameSite = http.SameSiteLaxMode
	case "none":
		hc.SameSite = http.SameSiteNoneMode
	default:
		return errorString("picloud: cookie " + c.Name + ": SameSite must be Strict, Lax, None or empty, got " + c.SameSite)
	}
	v := hc.String()
	if v == "" {
		return errorString("picloud: invalid cookie name " + `"` + c.Name + `"`)
	}
	r.AddHeader("Set-Cookie", v)
	return nil
}

// errorString is an error that is only its text (errors.New without the
// import, which scripts do not see either way).
type errorString string

func (e errorString) Error() string { return string(e) }

// HeaderValues returns every value of the request header name (any case),
// one per header line, in the order the client sent them; nil when there
// is none. Headers joins them with ", ".
func (r *Request) HeaderValues(name string) []string {
	if r == nil {
		return nil
	}
	name = textproto.CanonicalMIMEHeaderKey(name)
	if vs, ok := r.headerValues[name]; ok {
		return slices.Clone(vs)
	}
	if v, ok := r.Headers[name]; ok {
		return []string{v}
	}
	return nil
}

// Cookie returns the value of the request cookie name and whether the
// request has it. Names are case-sensitive; the first of several cookies
// of one name wins, as in browsers' order (the most specific path first).
func (r *Request) Cookie(name string) (string, bool) {
	for _, line := range r.HeaderValues("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// SetHeaderValues gives r the values of the headers the client sent more
// than once, by canonical name (Headers holds them joined). It is the
// host's: scripts do not see it.
func SetHeaderValues(r *Request, repeated map[string][]string) { r.headerValues = repeated }

// HeaderValuesOf is what SetHeaderValues gave r, for the worker protocol.
func HeaderValuesOf(r *Request) map[string][]string { return r.headerValues }
