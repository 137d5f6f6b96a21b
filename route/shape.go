package route

import "strings"

// Shape returns the conflict key of a route path: its static segments as
// they are, each parameter as ":" and the wildcard as "*". Two routes of
// one method conflict (Trie.Add refuses the second) exactly when their
// paths have the same shape, so a store that keeps the shape unique per
// app and method enforces the conflict rule by itself. An invalid path is
// an error.
//
// No static segment starts with ':' or '*', so a shape reads one way only:
// "/users/:id" and "/users/:name" are both "/users/:", "/files/*rest" is
// "/files/*", and "/users/" (a trailing slash) stays "/users/".
func Shape(path string) (string, error) {
	segs, err := parsePath(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(path))
	for _, s := range segs {
		b.WriteByte('/')
		switch s.kind {
		case segParam:
			b.WriteByte(':')
		case segWildcard:
			b.WriteByte('*')
		default:
			b.WriteString(s.text)
		}
	}
	return b.String(), nil
}
