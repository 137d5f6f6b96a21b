package route

import (
	"slices"
	"strings"
	"testing"
)

func ids(rs []Route) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestOverlaps(t *testing.T) {
	tr := mustTrie(t,
		"GET /users/:id",   // 1
		"GET /users/me",    // 2
		"GET /files/*rest", // 3
		"ANY /hooks/:name", // 4
		"POST /users/:id",  // 5
		"GET /",            // 6
		"GET /a/:x/c",      // 7
	)
	tests := []struct {
		method, path string
		shadows      []int64
		shadowedBy   []int64
	}{
		{"GET", "/users/:name", []int64{}, []int64{2}},          // conflicts with 1
		{"GET", "/users/you", []int64{1}, []int64{}},            // static beats :id
		{"GET", "/:section/me", []int64{}, []int64{1, 2, 3, 4}}, // static first segments win
		{"GET", "/files", []int64{3}, []int64{}},                // "/files" beats the empty rest
		{"GET", "/files/a/b", []int64{3}, []int64{}},
		{"GET", "/*all", []int64{}, []int64{1, 2, 3, 4, 6, 7}},
		{"GET", "/hooks/:name", []int64{4}, []int64{}}, // GET beats ANY on one shape
		{"ANY", "/hooks/x", []int64{4}, []int64{}},
		{"ANY", "/users/:id", []int64{}, []int64{1, 2, 5}},
		{"DELETE", "/users/:id", []int64{}, []int64{}},
		{"HEAD", "/users/:id", []int64{}, []int64{2}},
		{"GET", "/other", []int64{}, []int64{}},
		{"GET", "/a/b/:y", []int64{7}, []int64{}}, // static b beats :x first
		{"GET", "/users/:id/", []int64{}, []int64{}},
		{"GET", "/users/", []int64{}, []int64{}}, // "" never matches :id
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			shadows, by, err := tr.Overlaps(tt.method, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(shadows), tt.shadows) || !slices.Equal(ids(by), tt.shadowedBy) {
				t.Fatalf("Overlaps = shadows %v, shadowed by %v; want %v, %v", ids(shadows), ids(by), tt.shadows, tt.shadowedBy)
			}
		})
	}
	if _, _, err := tr.Overlaps("GET", "/{id}"); err == nil || !strings.Contains(err.Error(), "domains") {
		t.Errorf("Overlaps with a domain placeholder = %v", err)
	}
	if _, _, err := tr.Overlaps("FETCH", "/x"); err == nil {
		t.Error("Overlaps with a bad method: no error")
	}
}

// FuzzOverlaps checks Overlaps against Match: when the trie holds two
// routes and a request matches both patterns, Match picks the one
// Overlaps says wins.
func FuzzOverlaps(f *testing.F) {
	f.Add("/users/:id", "/users/me", "/users/me")
	f.Add("/files/*rest", "/files", "/files")
	f.Add("/:a/b", "/a/:b", "/a/b")
	f.Add("/*all", "/x/", "/x/")
	f.Fuzz(func(t *testing.T, p1, p2, path string) {
		if ValidatePath(p1) != nil || ValidatePath(p2) != nil || p1 == p2 {
			return
		}
		tr := NewTrie()
		if err := tr.Add(Route{ID: 1, Method: "GET", Path: p1}); err != nil {
			return
		}
		if err := tr.Add(Route{ID: 2, Method: "GET", Path: p2}); err != nil {
			return // same shape: a conflict, not an overlap
		}
		one, two := NewTrie(), NewTrie()
		_ = one.Add(Route{ID: 1, Method: "GET", Path: p1})
		_ = two.Add(Route{ID: 2, Method: "GET", Path: p2})
		_, _, ok1 := one.Match("GET", path)
		_, _, ok2 := two.Match("GET", path)
		shadows, by, err := one.Overlaps("GET", p2)
		if err != nil {
			t.Fatal(err)
		}
		if !ok1 || !ok2 {
			return
		}
		got, _, _ := tr.Match("GET", path)
		switch {
		case len(shadows) == 0 && len(by) == 0:
			t.Fatalf("%q matches %s and %s, but Overlaps says they do not overlap", path, p1, p2)
		case len(shadows) == 1 && got.ID != 2:
			t.Fatalf("Overlaps says %s wins over %s, but %q went to %s", p2, p1, path, got.Path)
		case len(by) == 1 && got.ID != 1:
			t.Fatalf("Overlaps says %s wins over %s, but %q went to %s", p1, p2, path, got.Path)
		}
	})
}
