// Package domain owns the grammar of domain claims and the matcher that
// resolves a request's Host to the claim that serves it.
//
// A claim is one of three kinds:
//
//   - exact: "api.example.com" matches that host only;
//   - parameterized: "{tenant}.example.com" matches hosts with the same
//     number of labels, each "{name}" label matching exactly one label,
//     which is captured under name;
//   - wildcard: "*.example.com" matches every host with one or more
//     labels in front of "example.com" (not "example.com" itself).
//
// Patterns are normalized by Parse: lower case, no port, no trailing dot,
// internationalized labels in punycode ("bücher.example" becomes
// "xn--bcher-kva.example"). Route paths use ":name"; domains use "{name}";
// never the other way round.
//
// Precedence, the order in which a Matcher tries claims for a host: exact,
// then parameterized, then wildcard. Among parameterized claims (which all
// have as many labels as the host), labels are compared from the right,
// the top of the DNS tree, and at the first label where they differ a
// literal beats a parameter. Among wildcards the longest suffix wins.
//
// Collision rule: two claims collide when they have the same Key, that
// is, they are equal once parameter names are erased ("{a}.example.com"
// and "{b}.example.com"). Under the precedence above that is exactly when
// some host would match both with neither preferred: any two claims with
// different keys that match the same host are ordered, so every host has
// exactly one claim that serves it. Overlaps that precedence settles
// (an exact claim under a wildcard, "{a}.x.com" beside "api.{b}.com")
// are allowed and reported as such by Overlaps.
//
// The package is pure: no I/O, no database, no actors.
package domain

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of a pattern.
const (
	// MaxLength is the longest normalized name, in bytes (RFC 1035).
	MaxLength = 253
	// MaxLabel is the longest label, in bytes.
	MaxLabel = 63
	// MaxParams is the most parameters a pattern may have.
	MaxParams = 8
	// maxInput bounds the raw pattern before any work is done on it.
	maxInput = 1024
)

// Kind is what kind of claim a pattern is.
type Kind uint8

// The kinds of claims, in order of precedence.
const (
	Exact Kind = iota + 1
	Param
	Wildcard
)

// String is the kind's name as the API shows it.
func (k Kind) String() string {
	switch k {
	case Exact:
		return "exact"
	case Param:
		return "param"
	case Wildcard:
		return "wildcard"
	}
	return "invalid"
}

// label is one label of a pattern: literal text, or a parameter name.
type label struct {
	text  string
	param bool
}

// Pattern is a parsed, normalized domain claim. The zero value is not a
// valid pattern; get one from Parse.
type Pattern struct {
	kind Kind
	// labels are the labels left to right; for a wildcard, the labels
	// after "*".
	labels []label
	text   string
}

// Kind returns the kind of claim.
func (p Pattern) Kind() Kind { return p.kind }

// String returns the normalized pattern, e.g. "{tenant}.example.com".
func (p Pattern) String() string { return p.text }

// Key returns the pattern with parameter names erased
// ("{}.example.com"): two patterns collide exactly when their keys are
// equal.
func (p Pattern) Key() string {
	if p.kind != Param {
		return p.text
	}
	var b strings.Builder
	for i, l := range p.labels {
		if i > 0 {
			b.WriteByte('.')
		}
		if l.param {
			b.WriteString("{}")
		} else {
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// Params returns the parameter names, left to right.
func (p Pattern) Params() []string {
	var names []string
	for _, l := range p.labels {
		if l.param {
			names = append(names, l.text)
		}
	}
	return names
}

// Overlaps reports whether some host matches both p and q. Claims that
// overlap without colliding are allowed: precedence picks one of them.
func (p Pattern) Overlaps(q Pattern) bool {
	if p.kind > q.kind {
		p, q = q, p
	}
	switch {
	case p.kind == Exact:
		return q.Matches(p.text)
	case p.kind == Param && q.kind == Param:
		return len(p.labels) == len(q.labels) && compatible(p.labels, q.labels)
	case p.kind == Param: // q is a wildcard
		n := len(q.labels)
		return len(p.labels) > n && compatible(p.labels[len(p.labels)-n:], q.labels)
	default: // two wildcards: one suffix ends the other
		if len(p.labels) > len(q.labels) {
			p, q = q, p
		}
		return compatible(p.labels, q.labels[len(q.labels)-len(p.labels):])
	}
}

// Precedes reports whether p is tried before q for a host that both
// match: the precedence of the package doc.
func (p Pattern) Precedes(q Pattern) bool {
	if p.kind != q.kind {
		return p.kind < q.kind
	}
	switch p.kind {
	case Wildcard:
		return len(p.labels) > len(q.labels)
	case Param:
		if len(p.labels) != len(q.labels) {
			return false // no host matches both
		}
		for i := len(p.labels) - 1; i >= 0; i-- {
			if p.labels[i].param != q.labels[i].param {
				return !p.labels[i].param
			}
		}
	}
	return false
}

// compatible reports whether two label lists of the same length can
// match the same labels.
func compatible(a, b []label) bool {
	for i := range a {
		if !a[i].param && !b[i].param && a[i].text != b[i].text {
			return false
		}
	}
	return true
}

// Collides reports whether p and q may not be claimed by two apps (or
// twice by one): see the package doc for the rule.
func (p Pattern) Collides(q Pattern) bool { return p.Key() == q.Key() }

// Parse validates and normalizes a domain pattern. Errors say what is
// wrong in words a user can act on.
func Parse(s string) (Pattern, error) {
	if len(s) > maxInput {
		// Too long whatever normalization would make of it.
		return Pattern{}, fmt.Errorf("domain is %d bytes long; the limit is %d", len(s), MaxLength)
	}
	if err := checkText(s); err != nil {
		return Pattern{}, err
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return Pattern{}, errors.New("domain is empty")
	}
	parts := strings.Split(name, ".")
	p := Pattern{kind: Exact, labels: make([]label, 0, len(parts))}
	seen := make(map[string]bool)
	for i, part := range parts {
		l, err := parseLabel(s, part, i)
		if err != nil {
			return Pattern{}, err
		}
		switch {
		case l.text == "*":
			p.kind = Wildcard
			continue // the wildcard is the kind, not a label
		case l.param:
			if seen[l.text] {
				return Pattern{}, fmt.Errorf("domain %q: parameter {%s} is used twice", s, l.text)
			}
			seen[l.text] = true
			if p.kind == Exact {
				p.kind = Param
			}
		}
		p.labels = append(p.labels, l)
	}
	if err := p.check(s); err != nil {
		return Pattern{}, err
	}
	p.text = p.format()
	if len(p.text) > MaxLength {
		return Pattern{}, fmt.Errorf("domain %q is %d bytes long once normalized; the limit is %d", s, len(p.text), MaxLength)
	}
	return p, nil
}

// MustParse is Parse for patterns known to be valid; it panics otherwise.
func MustParse(s string) Pattern {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// checkText refuses what is not a domain at all: URLs, ports, paths.
func checkText(s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("domain %q is not valid UTF-8", s)
	case strings.Contains(s, "://"):
		return fmt.Errorf("domain %q: give the host name only, without a scheme", s)
	case strings.ContainsAny(s, "/?#"):
		return fmt.Errorf("domain %q: give the host name only, without a path, query or fragment", s)
	case strings.Contains(s, "@"):
		return fmt.Errorf("domain %q: a domain has no user info ('@')", s)
	case strings.Contains(s, ":"):
		return fmt.Errorf("domain %q: a domain has no port (':'); a claim covers every port", s)
	}
	for i, r := range s {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("domain %q: space or control character at byte %d", s, i)
		}
	}
	return nil
}

// parseLabel parses the i-th label of pattern s.
func parseLabel(s, part string, i int) (label, error) {
	switch {
	case part == "":
		return label{}, fmt.Errorf("domain %q: label %d is empty", s, i+1)
	case part == "*":
		if i != 0 {
			return label{}, fmt.Errorf("domain %q: '*' may only be the first label (\"*.example.com\")", s)
		}
		return label{text: "*"}, nil
	case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
		name := part[1 : len(part)-1]
		if err := checkParamName(name); err != nil {
			return label{}, fmt.Errorf("domain %q: label %q: %v", s, part, err)
		}
		return label{text: name, param: true}, nil
	case strings.ContainsAny(part, "{}"):
		return label{}, fmt.Errorf("domain %q: label %q: a parameter is a whole label, written {name}", s, part)
	case strings.Contains(part, "*"):
		return label{}, fmt.Errorf("domain %q: label %q: '*' is a whole label, and only the first", s, part)
	}
	// idna.Lookup maps and validates the label the way a browser does
	// before it looks a name up: lower case, NFC, punycode.
	ascii, err := idna.Lookup.ToASCII(part)
	if err != nil {
		return label{}, fmt.Errorf("domain %q: label %q is not a valid host name label: %v", s, part, err)
	}
	if err := checkLDH(ascii); err != nil {
		return label{}, fmt.Errorf("domain %q: label %q: %v", s, part, err)
	}
	return label{text: ascii}, nil
}

// checkLDH checks a normalized label: 1-63 of a-z, 0-9 and '-', not
// starting or ending with '-'.
func checkLDH(l string) error {
	switch {
	case l == "":
		return errors.New("label is empty")
	case len(l) > MaxLabel:
		return fmt.Errorf("label is %d bytes long; the limit is %d", len(l), MaxLabel)
	case l[0] == '-' || l[len(l)-1] == '-':
		return errors.New("a label may not start or end with '-'")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("%q is not allowed in a host name (letters, digits and '-' only)", c)
		}
	}
	return nil
}

// checkParamName checks a parameter name: [A-Za-z_][A-Za-z0-9_]*.
func checkParamName(name string) error {
	if name == "" {
		return errors.New("the parameter has no name ({} needs one, e.g. {tenant})")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("parameter name %q must be letters, digits and '_', not starting with a digit", name)
		}
	}
	return nil
}

// check applies the rules that concern the pattern as a whole.
func (p *Pattern) check(s string) error {
	literals, params := 0, 0
	for _, l := range p.labels {
		if l.param {
			params++
		} else {
			literals++
		}
	}
	switch {
	case p.kind == Wildcard && params > 0:
		return fmt.Errorf("domain %q: a wildcard claim has no parameters; use one or the other", s)
	case p.kind == Wildcard && len(p.labels) == 0:
		return fmt.Errorf("domain %q: a lone '*' would claim every host; name a domain below it (\"*.example.com\")", s)
	case p.kind == Param && literals == 0:
		return fmt.Errorf("domain %q: a claim needs at least one literal label (\"{tenant}.example.com\")", s)
	case params > MaxParams:
		return fmt.Errorf("domain %q: %d parameters; the limit is %d", s, params, MaxParams)
	}
	if last := p.labels[len(p.labels)-1]; !last.param && allDigits(last.text) {
		return fmt.Errorf("domain %q: an IP address is not a domain; the last label must not be all digits", s)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// format writes the normalized pattern.
func (p *Pattern) format() string {
	var b strings.Builder
	if p.kind == Wildcard {
		b.WriteString("*")
	}
	for i, l := range p.labels {
		if i > 0 || p.kind == Wildcard {
			b.WriteByte('.')
		}
		if l.param {
			b.WriteString("{" + l.text + "}")
		} else {
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// Matches reports whether host (already normalized, see AppendHost)
// matches p, ignoring other claims.
func (p Pattern) Matches(host string) bool {
	hl := strings.Split(host, ".")
	switch p.kind {
	case Exact:
		return host == p.text
	case Wildcard:
		return len(hl) > len(p.labels) && labelsMatch(p.labels, hl[len(hl)-len(p.labels):])
	case Param:
		return len(hl) == len(p.labels) && labelsMatch(p.labels, hl)
	}
	return false
}

// CoversChildOf reports whether p matches some host one label below base
// ("x.localhost" for base "localhost"): the hosts PiCloud keeps for the
// implicit {slug}.{base_domain} of every app.
func (p Pattern) CoversChildOf(base string) bool {
	bl := strings.Split(base, ".")
	switch p.kind {
	case Wildcard:
		// *.s matches x.base when s is base or a suffix of it.
		return len(p.labels) <= len(bl) && labelsMatch(p.labels, bl[len(bl)-len(p.labels):])
	default:
		return len(p.labels) == len(bl)+1 && labelsMatch(p.labels[1:], bl)
	}
}

// labelsMatch reports whether concrete labels hl match pattern labels
// pl of the same length.
func labelsMatch(pl []label, hl []string) bool {
	for i, l := range pl {
		if l.param {
			if hl[i] == "" {
				return false
			}
			continue
		}
		if l.text != hl[i] {
			return false
		}
	}
	return true
}
