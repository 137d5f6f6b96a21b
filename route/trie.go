package route

import (
	"fmt"
	"slices"
	"strings"
)

// Route binds Method + Path to a script.
type Route struct {
	ID       int64
	Method   string
	Path     string
	ScriptID int64
}

// Param is one captured route parameter.
type Param struct {
	Key   string
	Value string
}

// Params are the parameters a match captured, in path order.
type Params []Param

// Get returns the value of the parameter key, or "".
func (ps Params) Get(key string) string {
	for _, p := range ps {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// ConflictError is returned by Trie.Add when a route of the same method
// and shape (same static segments, parameters and wildcard at the same
// positions, whatever their names) already exists.
type ConflictError struct {
	Existing Route
	New      Route
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s conflicts with %s %s (route %d)",
		e.New.Method, e.New.Path, e.Existing.Method, e.Existing.Path, e.Existing.ID)
}

// Trie matches requests to routes. Build it with Add, then Match from a
// single goroutine or several: Match does not modify the trie. Add must
// not run concurrently with anything else.
//
// Matching walks the path one segment at a time; at every segment a
// static child beats a parameter, which beats a wildcard, and when the
// preferred branch leads nowhere the next one is tried (backtracking).
// At the node a path ends on, a route of the request's method beats an
// ANY route, and HEAD falls back to GET before ANY.
//
// A parameter matches one non-empty segment. A trailing "/files/*rest"
// matches "/files" and "/files/" (rest "") and "/files/a/b" (rest "a/b").
type Trie struct {
	root   node
	routes []Route
}

// node is one segment position. Routes ending here are in leaf; routes
// whose wildcard starts here are in wildcard.
type node struct {
	static   []*node // sorted by text
	text     string  // this node's static text (when a static child)
	param    *node
	leaf     []entry
	wildcard []entry
}

// entry is one route stored at a node, with its parameter names in
// path order (the wildcard's last).
type entry struct {
	route Route
	names []string
}

// NewTrie returns an empty trie.
func NewTrie() *Trie { return &Trie{} }

// Add validates r's method and path and inserts it. r.Method is stored
// upper-cased. A route of the same method and shape gives *ConflictError.
func (t *Trie) Add(r Route) error {
	m, err := ValidateMethod(r.Method)
	if err != nil {
		return fmt.Errorf("route %d: %w", r.ID, err)
	}
	r.Method = m
	segs, err := parsePath(r.Path)
	if err != nil {
		return fmt.Errorf("route %d: %w", r.ID, err)
	}
	slot, names := t.root.slot(segs, true)
	for _, e := range *slot {
		if e.route.Method == r.Method {
			return &ConflictError{Existing: e.route, New: r}
		}
	}
	*slot = append(*slot, entry{route: r, names: names})
	t.routes = append(t.routes, r)
	return nil
}

// Conflicts returns the routes that Add would refuse a route of method
// and path for. An invalid method or path has no conflicts.
func (t *Trie) Conflicts(method, path string) []Route {
	m, err := ValidateMethod(method)
	if err != nil {
		return nil
	}
	segs, err := parsePath(path)
	if err != nil {
		return nil
	}
	slot, _ := t.root.slot(segs, false)
	if slot == nil {
		return nil
	}
	var out []Route
	for _, e := range *slot {
		if e.route.Method == m {
			out = append(out, e.route)
		}
	}
	return out
}

// Routes returns every route, in the order they were added.
func (t *Trie) Routes() []Route { return slices.Clone(t.routes) }

// slot finds (creating them when create is set) the nodes for segs and
// returns the entry list a route of that shape belongs in, with the
// route's parameter names. Without create, a missing node gives nil.
func (n *node) slot(segs []segment, create bool) (*[]entry, []string) {
	var names []string
	for _, s := range segs {
		switch s.kind {
		case segWildcard:
			return &n.wildcard, append(names, s.text)
		case segParam:
			names = append(names, s.text)
			if n.param == nil {
				if !create {
					return nil, nil
				}
				n.param = &node{}
			}
			n = n.param
		default:
			child := n.staticChild(s.text)
			if child == nil {
				if !create {
					return nil, nil
				}
				child = n.addStatic(s.text)
			}
			n = child
		}
	}
	return &n.leaf, names
}

// staticChild returns the static child for text, or nil.
func (n *node) staticChild(text string) *node {
	// Few children: a linear scan beats a binary search or a map.
	if len(n.static) <= 8 {
		for _, c := range n.static {
			if c.text == text {
				return c
			}
		}
		return nil
	}
	i, ok := slices.BinarySearchFunc(n.static, text, func(c *node, t string) int {
		return strings.Compare(c.text, t)
	})
	if !ok {
		return nil
	}
	return n.static[i]
}

// addStatic inserts a static child for text, keeping children sorted.
func (n *node) addStatic(text string) *node {
	child := &node{text: text}
	i, _ := slices.BinarySearchFunc(n.static, text, func(c *node, t string) int {
		return strings.Compare(c.text, t)
	})
	n.static = slices.Insert(n.static, i, child)
	return child
}

// Match returns the route for method and path, with the parameters it
// captured. It allocates only when the route has parameters.
func (t *Trie) Match(method, path string) (Route, Params, bool) {
	if path == "" || path[0] != '/' {
		return Route{}, nil, false
	}
	m := matcher{method: method, path: path}
	e := m.walk(&t.root, 1)
	if e == nil {
		return Route{}, nil, false
	}
	if len(e.names) == 0 {
		return e.route, nil, true
	}
	ps := make(Params, len(e.names))
	for i, name := range e.names {
		ps[i] = Param{Key: name, Value: m.val(i)}
	}
	return e.route, ps, true
}

// inlineParams is how many parameter values a match holds without
// allocating.
const inlineParams = 8

// matcher is the state of one Match: the request and the parameter
// values captured on the current branch (the first inlineParams in an
// array, so that a match stays on the stack).
type matcher struct {
	method string
	path   string
	n      int
	inline [inlineParams]string
	more   []string
}

func (m *matcher) push(v string) {
	if m.n < inlineParams {
		m.inline[m.n] = v
	} else {
		m.more = append(m.more[:m.n-inlineParams], v)
	}
	m.n++
}

func (m *matcher) pop() { m.n-- }

func (m *matcher) val(i int) string {
	if i < inlineParams {
		return m.inline[i]
	}
	return m.more[i-inlineParams]
}

// walk matches the path from byte i (the start of a segment; past the
// end of the path when every segment is consumed) at node n.
func (m *matcher) walk(n *node, i int) *entry {
	if i > len(m.path) {
		if e := m.pick(n.leaf); e != nil {
			return e
		}
		// "/files/*rest" also serves "/files", with an empty rest.
		return m.capture(n, len(m.path))
	}
	end := i
	for end < len(m.path) && m.path[end] != '/' {
		end++
	}
	seg := m.path[i:end]
	if child := n.staticChild(seg); child != nil {
		if e := m.walk(child, end+1); e != nil {
			return e
		}
	}
	if n.param != nil && seg != "" {
		m.push(seg)
		if e := m.walk(n.param, end+1); e != nil {
			return e
		}
		m.pop()
	}
	return m.capture(n, i)
}

// capture tries the wildcard routes of n, capturing the path from byte i.
func (m *matcher) capture(n *node, i int) *entry {
	e := m.pick(n.wildcard)
	if e == nil {
		return nil
	}
	m.push(m.path[i:])
	return e
}

// pick chooses among the routes at one node: the request's method, then
// GET for HEAD, then ANY.
func (m *matcher) pick(entries []entry) *entry {
	if len(entries) == 0 {
		return nil
	}
	var get, anyMethod *entry
	for k := range entries {
		e := &entries[k]
		switch e.route.Method {
		case m.method:
			return e
		case "GET":
			get = e
		case MethodAny:
			anyMethod = e
		}
	}
	if m.method == "HEAD" && get != nil {
		return get
	}
	return anyMethod
}

// Allowed returns the methods of the routes whose path matches path,
// whatever their method, sorted, with HEAD when GET is there (HEAD falls
// back to GET): the Allow header of a 405 when Match found nothing for
// the request's method. It is empty when no route's path matches.
func (t *Trie) Allowed(path string) []string {
	if path == "" || path[0] != '/' {
		return nil
	}
	var methods []string
	collect := func(entries []entry) {
		for _, e := range entries {
			methods = append(methods, e.route.Method)
		}
	}
	var walk func(n *node, i int)
	walk = func(n *node, i int) {
		collect(n.wildcard)
		if i > len(path) {
			collect(n.leaf)
			return
		}
		end := i
		for end < len(path) && path[end] != '/' {
			end++
		}
		seg := path[i:end]
		if child := n.staticChild(seg); child != nil {
			walk(child, end+1)
		}
		if n.param != nil && seg != "" {
			walk(n.param, end+1)
		}
	}
	walk(&t.root, 1)
	if slices.Contains(methods, "GET") {
		methods = append(methods, "HEAD")
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}
