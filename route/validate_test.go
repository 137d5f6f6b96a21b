package route

import (
	"strings"
	"testing"
)

func TestValidateMethod(t *testing.T) {
	tests := []struct {
		in, want string
		errPart  string
	}{
		{in: "get", want: "GET"},
		{in: "Post", want: "POST"},
		{in: "HEAD", want: "HEAD"},
		{in: "put", want: "PUT"},
		{in: "patch", want: "PATCH"},
		{in: "delete", want: "DELETE"},
		{in: "options", want: "OPTIONS"},
		{in: "any", want: "ANY"},
		{in: "", errPart: "method is empty"},
		{in: "TRACE", errPart: `method "TRACE" is not supported; use one of GET, HEAD`},
		{in: "CONNECT", errPart: "not supported"},
		{in: "G ET", errPart: "not supported"},
	}
	for _, tt := range tests {
		got, err := ValidateMethod(tt.in)
		if tt.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("ValidateMethod(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.errPart)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ValidateMethod(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidatePath(t *testing.T) {
	valid := []string{
		"/",
		"/users",
		"/users/",
		"/users/:id",
		"/users/:id/posts/:post_id",
		"/files/*rest",
		"/:a/:b/*c",
		"/*all",
		"/_x/:_",
		"/café/menu",
		"/a-b.c~d/e_f",
		"/apis",         // only the segment "api" is reserved
		"/versions",     // only the segment "version" is reserved
		"/v1/healthzzz", // reserved prefixes are first segments only
		"/x/api/admin",
		"/" + strings.Repeat("a", MaxPathLength-1),
	}
	for _, p := range valid {
		if err := ValidatePath(p); err != nil {
			t.Errorf("ValidatePath(%q) = %v; want nil", p, err)
		}
	}

	invalid := []struct {
		path, errPart string
	}{
		{"", "path is empty"},
		{"users", `must start with "/"`},
		{"/" + strings.Repeat("a", MaxPathLength), "bytes long; the limit is 1024"},
		{"/users/{id}", "{name} placeholders are for domains; route parameters are written :name"},
		{"/a?b=c", "no query or fragment"},
		{"/a#frag", "no query or fragment"},
		{"/a%2Fb", "percent-encoding"},
		{"/a b", "space or control character at byte 2"},
		{"/a\tb", "space or control character"},
		{"/a\\b", "backslash"},
		{"/a//b", `segment 2 is empty ("//")`},
		{"//", `segment 1 is empty`},
		{"/a/../b", `segment 2 is ".."`},
		{"/a/./b", `segment 2 is "."`},
		{"/users/:", `segment 2 ":": the parameter has no name`},
		{"/users/:1d", `parameter name "1d" must start with a letter`},
		{"/users/:i-d", `parameter name "i-d" may only contain letters, digits and '_'`},
		{"/users/*", "the parameter has no name"},
		{"/files/*rest/more", `wildcard "*rest" must be the last segment`},
		{"/files/*rest/", `wildcard "*rest" must be the last segment`},
		{"/a/:id/b/:id", `parameter name "id" is used twice`},
		{"/a/:id/*id", `parameter name "id" is used twice`},
		{"/users/a:b", "':' and '*' may only start a segment"},
		{"/users/a*", "':' and '*' may only start a segment"},
		{"/api", "/api is reserved by PiCloud"},
		{"/api/", "/api is reserved"},
		{"/api/v1/things", "/api is reserved"},
		{"/admin", "/admin is reserved"},
		{"/admin/x", "/admin is reserved"},
		{"/healthz", "/healthz is reserved"},
		{"/readyz", "/readyz is reserved"},
		{"/version", "/version is reserved"},
		{"/metrics", "/metrics is reserved"},
		{"/metrics/:x", "/metrics is reserved"},
		{"/a\xffb", "not valid UTF-8"},
	}
	for _, tt := range invalid {
		err := ValidatePath(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("ValidatePath(%q) = %v; want error containing %q", tt.path, err, tt.errPart)
		}
	}
}

func TestValidatePathNamesThePath(t *testing.T) {
	err := ValidatePath("/users/:1")
	if err == nil || !strings.HasPrefix(err.Error(), `path "/users/:1": segment 2 ":1"`) {
		t.Fatalf("error %v does not name the path and segment", err)
	}
}
