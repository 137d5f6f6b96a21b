// Package route owns the route grammar of PiCloud apps: validation of
// methods and paths, and the per-app trie that matches a request's method
// and path to the route bound to it.
//
// It is pure: no actors, no database, no I/O. The router actor owns one
// Trie per app; the admin API uses the same validation and conflict rules
// so that what it accepts is exactly what the data plane can serve.
//
// Grammar: a path starts with "/" and is a list of segments separated by
// "/". A segment is static text, a parameter ":name", or, as the last
// segment only, a wildcard "*name" capturing the rest of the path. A path
// may end with a single "/" (then it only matches paths that end with
// one). Domains use "{name}"; routes never do.
package route

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxPathLength is the longest route path accepted, in bytes.
const MaxPathLength = 1024

// MethodAny is the method of a route that serves every method.
const MethodAny = "ANY"

// methodList names the methods a route may be bound to, for errors.
const methodList = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, ANY"

// ValidateMethod returns m upper-cased if it is a method a route can be
// bound to (GET HEAD POST PUT PATCH DELETE OPTIONS ANY).
func ValidateMethod(m string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(m))
	switch up {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", MethodAny:
		return up, nil
	case "":
		return "", fmt.Errorf("method is empty; use one of %s", methodList)
	}
	return "", fmt.Errorf("method %q is not supported; use one of %s", m, methodList)
}

// ValidatePath reports whether p is a route path a route can be bound to,
// and if not, which part of it is wrong.
func ValidatePath(p string) error {
	_, err := parsePath(p)
	return err
}

// segKind is what a segment of a route path is.
type segKind uint8

const (
	segStatic segKind = iota
	segParam
	segWildcard
)

// segment is one parsed segment of a route path. For a parameter or a
// wildcard, text is its name (without ":" or "*").
type segment struct {
	kind segKind
	text string
}

// pathError is a problem in a route path, naming the path.
func pathError(p, format string, args ...any) error {
	return fmt.Errorf("path %q: %s", p, fmt.Sprintf(format, args...))
}

// parsePath validates p and splits it into segments. A trailing slash
// is a final empty static segment; "/" is one empty static segment.
func parsePath(p string) ([]segment, error) {
	if err := checkPathText(p); err != nil {
		return nil, err
	}
	parts := strings.Split(p[1:], "/")
	segs := make([]segment, 0, len(parts))
	seen := make(map[string]bool)
	for i, part := range parts {
		last := i == len(parts)-1
		seg, err := parseSegment(p, part, i+1, last)
		if err != nil {
			return nil, err
		}
		if seg.kind != segStatic {
			if seen[seg.text] {
				return nil, pathError(p, "parameter name %q is used twice", seg.text)
			}
			seen[seg.text] = true
		}
		if seg.kind == segWildcard && !last {
			return nil, pathError(p, "wildcard %q must be the last segment", "*"+seg.text)
		}
		segs = append(segs, seg)
	}
	if err := checkReserved(p, parts[0]); err != nil {
		return nil, err
	}
	return segs, nil
}

// checkPathText checks what does not depend on segments.
func checkPathText(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("path is empty; it must start with \"/\"")
	case len(p) > MaxPathLength:
		return fmt.Errorf("path is %d bytes long; the limit is %d", len(p), MaxPathLength)
	case p[0] != '/':
		return pathError(p, "must start with \"/\"")
	case !utf8.ValidString(p):
		return pathError(p, "is not valid UTF-8")
	}
	for i, r := range p {
		switch {
		case r == '?' || r == '#':
			return pathError(p, "%q at byte %d: a route path has no query or fragment", r, i)
		case r == '{' || r == '}':
			return pathError(p, "%q at byte %d: {name} placeholders are for domains; route parameters are written :name", r, i)
		case r == '%':
			return pathError(p, "%q at byte %d: write the decoded character instead of percent-encoding", r, i)
		case r == '\\':
			return pathError(p, "backslash at byte %d is not allowed", i)
		case r <= ' ' || r == 0x7f:
			return pathError(p, "space or control character at byte %d is not allowed", i)
		}
	}
	return nil
}

// parseSegment parses the n-th (1-based) segment part of p.
func parseSegment(p, part string, n int, last bool) (segment, error) {
	switch {
	case part == "":
		if last {
			return segment{kind: segStatic}, nil // trailing slash, or "/"
		}
		return segment{}, pathError(p, "segment %d is empty (\"//\")", n)
	case part == "." || part == "..":
		return segment{}, pathError(p, "segment %d is %q; dot segments are not allowed", n, part)
	case part[0] == ':' || part[0] == '*':
		kind := segParam
		if part[0] == '*' {
			kind = segWildcard
		}
		name := part[1:]
		if err := checkName(name); err != nil {
			return segment{}, pathError(p, "segment %d %q: %v", n, part, err)
		}
		return segment{kind: kind, text: name}, nil
	case strings.ContainsAny(part, ":*"):
		return segment{}, pathError(p, "segment %d %q: ':' and '*' may only start a segment (\"/:name\", \"/*name\")", n, part)
	}
	return segment{kind: segStatic, text: part}, nil
}

// checkName checks a parameter name: [A-Za-z_][A-Za-z0-9_]*.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("the parameter has no name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		digit := c >= '0' && c <= '9'
		if i == 0 && !letter {
			return fmt.Errorf("parameter name %q must start with a letter or '_'", name)
		}
		if !letter && !digit {
			return fmt.Errorf("parameter name %q may only contain letters, digits and '_'", name)
		}
	}
	return nil
}

// checkReserved refuses paths under the prefixes ingress serves itself.
func checkReserved(p, first string) error {
	switch first {
	case "api", "admin", "healthz", "readyz", "version", "metrics":
		return pathError(p, "/%s is reserved by PiCloud (reserved: /api, /admin, /healthz, /readyz, /version, /metrics)", first)
	}
	return nil
}
