package route

import "testing"

func TestShape(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/", "/"},
		{"/users", "/users"},
		{"/users/", "/users/"},
		{"/users/:id", "/users/:"},
		{"/users/:name", "/users/:"},
		{"/users/:id/", "/users/:/"},
		{"/files/*rest", "/files/*"},
		{"/*all", "/*"},
		{"/a/:x/c/:y", "/a/:/c/:"},
		{"/é/:u", "/é/:"},
	}
	for _, tt := range tests {
		got, err := Shape(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("Shape(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "x", "/a//b", "/{id}", "/api/x", "/a:b"} {
		if _, err := Shape(bad); err == nil {
			t.Errorf("Shape(%q): no error", bad)
		}
	}
}

// FuzzShape checks Shape against the trie: two valid paths of one method
// have the same shape exactly when Add refuses the second as a conflict.
func FuzzShape(f *testing.F) {
	f.Add("/users/:id", "/users/:name")
	f.Add("/users/:id", "/users/me")
	f.Add("/files/*rest", "/files/*all")
	f.Add("/files/*rest", "/files/:x")
	f.Add("/a/", "/a")
	f.Add("/:a/:b", "/:c/:d/")
	f.Fuzz(func(t *testing.T, p1, p2 string) {
		s1, err1 := Shape(p1)
		s2, err2 := Shape(p2)
		if (err1 == nil) != (ValidatePath(p1) == nil) || (err2 == nil) != (ValidatePath(p2) == nil) {
			t.Fatalf("Shape and ValidatePath disagree on %q or %q", p1, p2)
		}
		if err1 != nil || err2 != nil {
			return
		}
		tr := NewTrie()
		if err := tr.Add(Route{ID: 1, Method: "GET", Path: p1}); err != nil {
			t.Fatal(err)
		}
		conflict := tr.Add(Route{ID: 2, Method: "GET", Path: p2}) != nil
		if conflict != (s1 == s2) {
			t.Fatalf("%q (shape %q) and %q (shape %q): conflict %v", p1, s1, p2, s2, conflict)
		}
	})
}
