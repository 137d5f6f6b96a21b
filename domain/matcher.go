package domain

import (
	"bytes"
	"fmt"
)

// CollisionError is returned by Matcher.Add for a pattern whose Key is
// already claimed.
type CollisionError struct {
	Existing Pattern
	New      Pattern
}

func (e *CollisionError) Error() string {
	if e.Existing.String() == e.New.String() {
		return fmt.Sprintf("domain %s is already claimed", e.New)
	}
	return fmt.Sprintf("domain %s collides with the claim %s (the same hosts, only the parameter names differ)", e.New, e.Existing)
}

// Matcher resolves hosts to the value of the claim that serves them. Build
// it with Add, then call Match from any number of goroutines: Match never
// modifies the Matcher. Add must not run concurrently with anything else.
type Matcher[V any] struct {
	claims map[string]Pattern // by Key, to refuse collisions
	exact  map[string]V
	wild   map[string]V // by the suffix after "*."
	params paramNode[V]
}

// paramNode is one label position of the parameterized claims, counted
// from the right.
type paramNode[V any] struct {
	literal map[string]*paramNode[V]
	param   *paramNode[V]
	leaf    *paramLeaf[V]
}

// paramLeaf is a parameterized claim: its value and its parameter names
// in the order a match captures them (right to left).
type paramLeaf[V any] struct {
	value V
	names []string
}

// NewMatcher returns an empty Matcher.
func NewMatcher[V any]() *Matcher[V] {
	return &Matcher[V]{
		claims: make(map[string]Pattern),
		exact:  make(map[string]V),
		wild:   make(map[string]V),
	}
}

// Add claims p for v. A pattern that collides with one already added
// gives *CollisionError.
func (m *Matcher[V]) Add(p Pattern, v V) error {
	key := p.Key()
	if old, ok := m.claims[key]; ok {
		return &CollisionError{Existing: old, New: p}
	}
	switch p.kind {
	case Exact:
		m.exact[p.text] = v
	case Wildcard:
		m.wild[p.text[len("*."):]] = v
	case Param:
		m.params.add(p, v)
	default:
		return fmt.Errorf("domain: add of an invalid pattern %q", p.text)
	}
	m.claims[key] = p
	return nil
}

// Len returns the number of claims.
func (m *Matcher[V]) Len() int { return len(m.claims) }

func (n *paramNode[V]) add(p Pattern, v V) {
	leaf := &paramLeaf[V]{value: v}
	for i := len(p.labels) - 1; i >= 0; i-- {
		l := p.labels[i]
		if l.param {
			if n.param == nil {
				n.param = &paramNode[V]{}
			}
			n = n.param
			leaf.names = append(leaf.names, l.text)
			continue
		}
		child := n.literal[l.text]
		if child == nil {
			if n.literal == nil {
				n.literal = make(map[string]*paramNode[V])
			}
			child = &paramNode[V]{}
			n.literal[l.text] = child
		}
		n = child
	}
	n.leaf = leaf
}

// Match returns the value of the claim that serves host, which must be
// normalized (see AppendHost), and the parameters a parameterized claim
// captured (nil otherwise). It allocates only for captured parameters.
func (m *Matcher[V]) Match(host []byte) (v V, params map[string]string, ok bool) {
	if v, ok := m.exact[string(host)]; ok {
		return v, nil, true
	}
	if m.params.literal != nil || m.params.param != nil {
		var caps captures
		if leaf := m.params.walk(host, len(host), &caps); leaf != nil {
			params = make(map[string]string, caps.n)
			for i := 0; i < caps.n; i++ {
				params[leaf.names[i]] = string(host[caps.at[i][0]:caps.at[i][1]])
			}
			return leaf.value, params, true
		}
	}
	if len(m.wild) > 0 {
		// The first dot from the left leaves the longest suffix: the most
		// specific wildcard is tried first.
		for i := 1; i < len(host); i++ {
			if host[i] != '.' {
				continue
			}
			if v, ok := m.wild[string(host[i+1:])]; ok {
				return v, nil, true
			}
		}
	}
	return v, nil, false
}

// captures are the label bounds a parameter walk holds, on the stack.
type captures struct {
	at [MaxParams][2]int
	n  int
}

// walk matches the labels of host that end before byte end (-1: every
// label consumed) at node n: a literal label beats a parameter, and a
// branch that leads nowhere is left for the next (backtracking).
func (n *paramNode[V]) walk(host []byte, end int, caps *captures) *paramLeaf[V] {
	if end < 0 {
		return n.leaf
	}
	start := bytes.LastIndexByte(host[:end], '.') + 1
	if start == end {
		return nil
	}
	if child := n.literal[string(host[start:end])]; child != nil {
		if leaf := child.walk(host, start-1, caps); leaf != nil {
			return leaf
		}
	}
	if n.param != nil && caps.n < MaxParams {
		caps.at[caps.n] = [2]int{start, end}
		caps.n++
		if leaf := n.param.walk(host, start-1, caps); leaf != nil {
			return leaf
		}
		caps.n--
	}
	return nil
}

// AppendHost appends the normalized form of a request's Host header to
// dst: lower case, without port and trailing dot. It reports false for a
// host no claim can match: an IP literal in brackets, an empty label, a
// byte that is not a letter, digit, '-' or '.', or more than MaxLength
// bytes.
func AppendHost(dst, host []byte) ([]byte, bool) {
	if len(host) > 0 && host[0] == '[' {
		return dst, false
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		for _, c := range host[i+1:] {
			if c < '0' || c > '9' {
				return dst, false
			}
		}
		host = host[:i]
	}
	if len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 || len(host) > MaxLength || host[0] == '.' {
		return dst, false
	}
	n := len(dst)
	for i, c := range host {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '.':
			if host[i-1] == '.' {
				return dst[:n], false
			}
		case (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-':
			return dst[:n], false
		}
		dst = append(dst, c)
	}
	return dst, true
}
