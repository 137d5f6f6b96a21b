package route

import (
	"slices"
	"testing"
)

func TestAllowed(t *testing.T) {
	tr := NewTrie()
	for i, r := range []struct{ method, path string }{
		{"GET", "/users/:id"},
		{"DELETE", "/users/:id"},
		{"POST", "/users"},
		{"PUT", "/users/me"},
		{"GET", "/files/*rest"},
		{"PATCH", "/files/a/b"},
	} {
		if err := tr.Add(Route{ID: int64(i + 1), Method: r.method, Path: r.path, ScriptID: 1}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/users/42", []string{"DELETE", "GET", "HEAD"}},
		{"/users/me", []string{"DELETE", "GET", "HEAD", "PUT"}}, // the static and the parameter route
		{"/users", []string{"POST"}},
		{"/files", []string{"GET", "HEAD"}},
		{"/files/a/b", []string{"GET", "HEAD", "PATCH"}},
		{"/nothing", nil},
		{"/users/42/more", nil},
		{"", nil},
		{"users", nil},
	}
	for _, tt := range tests {
		if got := tr.Allowed(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("Allowed(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
