package route

// Overlaps reports how a route of method and path would sit beside the
// routes of t: shadows are the routes it would take some requests from
// (it wins where both match), shadowedBy the routes that would take some
// of its requests. Routes it conflicts with (see Conflicts) are in
// neither list. An invalid method or path is an error.
//
// Who wins follows Match: at the first segment where two paths differ in
// kind, static beats parameter beats wildcard; on the same path shape, a
// route of the request's method beats an ANY route.
func (t *Trie) Overlaps(method, path string) (shadows, shadowedBy []Route, err error) {
	m, err := ValidateMethod(method)
	if err != nil {
		return nil, nil, err
	}
	segs, err := parsePath(path)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range t.routes {
		other, err := parsePath(r.Path)
		if err != nil || !methodsOverlap(m, r.Method) {
			continue
		}
		overlap, winner := compareShapes(segs, other)
		if !overlap {
			continue
		}
		if winner == 0 {
			// Same shape: the more specific method wins; the same method
			// is a conflict.
			switch {
			case m == r.Method:
				continue
			case r.Method == MethodAny:
				winner = 1
			case m == MethodAny:
				winner = -1
			default:
				continue // GET and HEAD on one shape serve different requests
			}
		}
		if winner > 0 {
			shadows = append(shadows, r)
		} else {
			shadowedBy = append(shadowedBy, r)
		}
	}
	return shadows, shadowedBy, nil
}

// methodsOverlap reports whether some request could be served by a route
// of method a and by one of method b.
func methodsOverlap(a, b string) bool {
	switch {
	case a == b, a == MethodAny, b == MethodAny:
		return true
	case a == "HEAD" && b == "GET", a == "GET" && b == "HEAD":
		return true // a HEAD request falls back to GET
	}
	return false
}

// compareShapes reports whether some request path matches both a and b,
// and if so which wins such a path: 1 for a, -1 for b, 0 when they have
// the same shape.
func compareShapes(a, b []segment) (overlap bool, winner int) {
	for i := 0; ; i++ {
		aEnd, bEnd := i >= len(a), i >= len(b)
		switch {
		case aEnd && bEnd:
			return true, winner
		case !aEnd && a[i].kind == segWildcard && !bEnd && b[i].kind == segWildcard:
			return true, winner
		case !aEnd && a[i].kind == segWildcard:
			// a takes any rest of b's paths; b's own segment (or b's
			// ending here) is tried before a's wildcard.
			return true, decide(winner, -1)
		case !bEnd && b[i].kind == segWildcard:
			return true, decide(winner, 1)
		case aEnd || bEnd:
			return false, 0
		}
		sa, sb := a[i], b[i]
		switch {
		case sa.kind == segStatic && sb.kind == segStatic:
			if sa.text != sb.text {
				return false, 0
			}
		case sa.kind == segStatic: // b is a parameter
			if sa.text == "" {
				return false, 0 // a parameter never matches an empty segment
			}
			winner = decide(winner, 1)
		case sb.kind == segStatic: // a is a parameter
			if sb.text == "" {
				return false, 0
			}
			winner = decide(winner, -1)
		}
	}
}

// decide keeps the first decision.
func decide(winner, w int) int {
	if winner != 0 {
		return winner
	}
	return w
}
