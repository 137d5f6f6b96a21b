package route

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// mustTrie builds a trie of "METHOD /path" specs; route i gets ID i+1.
func mustTrie(t testing.TB, specs ...string) *Trie {
	t.Helper()
	tr := NewTrie()
	for i, spec := range specs {
		method, path, _ := strings.Cut(spec, " ")
		r := Route{ID: int64(i + 1), Method: method, Path: path, ScriptID: int64(100 + i)}
		if err := tr.Add(r); err != nil {
			t.Fatalf("Add(%s): %v", spec, err)
		}
	}
	return tr
}

func TestMatch(t *testing.T) {
	tr := mustTrie(t,
		"GET /",                      // 1
		"GET /users",                 // 2
		"GET /users/",                // 3
		"GET /users/:id",             // 4
		"GET /users/me",              // 5
		"GET /users/:id/posts/:post", // 6
		"GET /files/*rest",           // 7
		"GET /files/readme",          // 8
		"GET /a/b/c",                 // 9
		"GET /a/:x/d",                // 10
		"GET /a/*tail",               // 11
		"ANY /any/:x",                // 12
		"POST /any/:x",               // 13
		"ANY /both",                  // 14
		"GET /both",                  // 15
		"GET /head",                  // 16
		"ANY /anyhead",               // 17
		"HEAD /h2",                   // 18
		"GET /h2",                    // 19
		"GET /deep/:a/:b/:c/*d",      // 20
		"GET /x/:p/y",                // 21
		"GET /x/:q/z",                // 22 (same shape at :p, different tail)
		"GET /café/:dish",            // 23
	)
	tests := []struct {
		method, path string
		wantID       int64
		want         Params
	}{
		{"GET", "/", 1, nil},
		{"GET", "/users", 2, nil},
		{"GET", "/users/", 3, nil},
		{"GET", "/users/42", 4, Params{{"id", "42"}}},
		{"GET", "/users/me", 5, nil},
		{"GET", "/users/42/posts/7", 6, Params{{"id", "42"}, {"post", "7"}}},
		{"GET", "/users/me/posts/7", 6, Params{{"id", "me"}, {"post", "7"}}}, // backtrack from static "me"
		{"GET", "/users/42/posts", 0, nil},
		{"GET", "/users/42/", 0, nil}, // a param never matches an empty segment
		{"GET", "/files", 7, Params{{"rest", ""}}},
		{"GET", "/files/", 7, Params{{"rest", ""}}},
		{"GET", "/files/a", 7, Params{{"rest", "a"}}},
		{"GET", "/files/a/b", 7, Params{{"rest", "a/b"}}},
		{"GET", "/files/a/b/", 7, Params{{"rest", "a/b/"}}},
		{"GET", "/files/readme", 8, nil},
		{"GET", "/files/readme/x", 7, Params{{"rest", "readme/x"}}},
		{"GET", "/a/b/c", 9, nil},
		{"GET", "/a/b/d", 10, Params{{"x", "b"}}}, // backtracking
		{"GET", "/a/b/e", 11, Params{{"tail", "b/e"}}},
		{"GET", "/a/q/d", 10, Params{{"x", "q"}}},
		{"GET", "/a", 11, Params{{"tail", ""}}},
		{"DELETE", "/any/1", 12, Params{{"x", "1"}}},
		{"POST", "/any/1", 13, Params{{"x", "1"}}}, // exact method beats ANY
		{"GET", "/both", 15, nil},
		{"PUT", "/both", 14, nil},
		{"HEAD", "/head", 16, nil},    // HEAD falls back to GET
		{"POST", "/head", 0, nil},     // no fallback for other methods
		{"HEAD", "/anyhead", 17, nil}, // HEAD reaches ANY too
		{"HEAD", "/h2", 18, nil},      // an explicit HEAD route wins over GET
		{"GET", "/deep/1/2/3/4/5", 20, Params{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4/5"}}},
		{"GET", "/x/1/y", 21, Params{{"p", "1"}}},
		{"GET", "/x/1/z", 22, Params{{"q", "1"}}},
		{"GET", "/café/soupe", 23, Params{{"dish", "soupe"}}},
		{"GET", "/nope", 0, nil},
		{"GET", "", 0, nil},
		{"GET", "users", 0, nil},
		{"get", "/users", 0, nil}, // methods are case-sensitive on the wire
	}
	for _, tt := range tests {
		r, ps, ok := tr.Match(tt.method, tt.path)
		if tt.wantID == 0 {
			if ok {
				t.Errorf("Match(%s %q) = route %d %v; want no match", tt.method, tt.path, r.ID, ps)
			}
			continue
		}
		if !ok || r.ID != tt.wantID || !reflect.DeepEqual(ps, tt.want) {
			t.Errorf("Match(%s %q) = route %d %v %v; want route %d %v", tt.method, tt.path, r.ID, ps, ok, tt.wantID, tt.want)
		}
	}
}

func TestMatchRootWildcardIsLastResort(t *testing.T) {
	tr := mustTrie(t, "ANY /*path", "GET /hello", "GET /users/:id")
	cases := map[string]int64{"/": 1, "/hello": 2, "/hello/x": 1, "/users/1": 3, "/users": 1, "/users/1/x": 1}
	for path, want := range cases {
		r, _, ok := tr.Match("GET", path)
		if !ok || r.ID != want {
			t.Errorf("Match(GET %q) = %d, %v; want %d", path, r.ID, ok, want)
		}
	}
}

func TestParamsGet(t *testing.T) {
	ps := Params{{"id", "1"}, {"name", "x"}}
	if ps.Get("name") != "x" || ps.Get("id") != "1" || ps.Get("nope") != "" {
		t.Fatalf("Get on %v is wrong", ps)
	}
	var empty Params
	if empty.Get("id") != "" {
		t.Fatal("Get on nil Params")
	}
}

func TestAddConflicts(t *testing.T) {
	tests := []struct {
		existing, add string
		conflict      bool
	}{
		{"GET /users/:id", "GET /users/:name", true},
		{"GET /users/:id", "POST /users/:name", false},
		{"GET /users/:id", "ANY /users/:name", false},
		{"ANY /users/:id", "ANY /users/:name", true},
		{"GET /users/:id", "GET /users/me", false},
		{"GET /users", "GET /users/", false},
		{"GET /files/*rest", "GET /files/*path", true},
		{"GET /files/*rest", "GET /files/:name", false},
		{"GET /files/*rest", "GET /files", false},
		{"GET /a/:x/b", "GET /a/:y/b", true},
		{"GET /a/:x/b", "GET /a/:x/c", false},
		{"GET /", "GET /", true},
		{"get /x", "GET /x", true}, // methods are normalised
	}
	for _, tt := range tests {
		tr := mustTrie(t, tt.existing)
		method, path, _ := strings.Cut(tt.add, " ")
		err := tr.Add(Route{ID: 2, Method: method, Path: path})
		var ce *ConflictError
		if got := errors.As(err, &ce); got != tt.conflict {
			t.Errorf("%s then %s: err %v; want conflict %v", tt.existing, tt.add, err, tt.conflict)
			continue
		}
		if tt.conflict && (ce.Existing.ID != 1 || ce.New.ID != 2) {
			t.Errorf("%s then %s: conflict %+v names the wrong routes", tt.existing, tt.add, ce)
		}
		if !tt.conflict && err != nil {
			t.Errorf("%s then %s: %v", tt.existing, tt.add, err)
		}
	}
}

func TestConflictErrorMessage(t *testing.T) {
	tr := NewTrie()
	if err := tr.Add(Route{ID: 14, Method: "GET", Path: "/users/:name"}); err != nil {
		t.Fatal(err)
	}
	err := tr.Add(Route{ID: 15, Method: "get", Path: "/users/:id"})
	want := "GET /users/:id conflicts with GET /users/:name (route 14)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v; want %q", err, want)
	}
	if got := len(tr.Routes()); got != 1 {
		t.Fatalf("a refused route was kept: %d routes", got)
	}
}

func TestAddRejectsInvalid(t *testing.T) {
	tr := NewTrie()
	for _, r := range []Route{
		{ID: 1, Method: "FETCH", Path: "/x"},
		{ID: 2, Method: "GET", Path: "/api/x"},
		{ID: 3, Method: "GET", Path: "/x/{id}"},
	} {
		err := tr.Add(r)
		if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("route %d: ", r.ID)) {
			t.Errorf("Add(%+v) = %v; want an error naming the route", r, err)
		}
	}
}

func TestConflicts(t *testing.T) {
	tr := mustTrie(t, "GET /users/:id", "ANY /users/:id", "POST /users/:id", "GET /files/*rest")
	got := tr.Conflicts("get", "/users/:name")
	if len(got) != 1 || got[0].ID != 1 {
		t.Fatalf("Conflicts(GET /users/:name) = %v; want route 1", got)
	}
	if got := tr.Conflicts("ANY", "/users/:x"); len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("Conflicts(ANY /users/:x) = %v; want route 2", got)
	}
	if got := tr.Conflicts("GET", "/files/*x"); len(got) != 1 || got[0].ID != 4 {
		t.Fatalf("Conflicts(GET /files/*x) = %v; want route 4", got)
	}
	for _, spec := range []string{"PUT /users/:id", "GET /users/me", "GET /users", "GET /nope/:x", "GET /api", "BREW /x"} {
		method, path, _ := strings.Cut(spec, " ")
		if got := tr.Conflicts(method, path); len(got) != 0 {
			t.Errorf("Conflicts(%s) = %v; want none", spec, got)
		}
	}
}

func TestRoutesInOrder(t *testing.T) {
	tr := mustTrie(t, "GET /b", "post /a", "GET /c/:x")
	got := tr.Routes()
	if len(got) != 3 || got[0].Path != "/b" || got[1].Method != "POST" || got[2].ID != 3 {
		t.Fatalf("Routes() = %+v", got)
	}
	got[0].Path = "/changed"
	if tr.Routes()[0].Path != "/b" {
		t.Fatal("Routes() exposes the trie's slice")
	}
}

func TestMatchManyStaticChildren(t *testing.T) {
	tr := NewTrie()
	for i := range 50 {
		if err := tr.Add(Route{ID: int64(i + 1), Method: "GET", Path: fmt.Sprintf("/s%02d/:x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		r, ps, ok := tr.Match("GET", fmt.Sprintf("/s%02d/v", i))
		if !ok || r.ID != int64(i+1) || ps.Get("x") != "v" {
			t.Fatalf("s%02d: route %d %v %v", i, r.ID, ps, ok)
		}
	}
	if _, _, ok := tr.Match("GET", "/s50/v"); ok {
		t.Fatal("matched a missing static child")
	}
}

func TestMatchManyParams(t *testing.T) {
	// More parameters than the inline buffer holds.
	var path, req strings.Builder
	var want Params
	for i := range 12 {
		fmt.Fprintf(&path, "/:p%d", i)
		fmt.Fprintf(&req, "/v%d", i)
		want = append(want, Param{fmt.Sprintf("p%d", i), fmt.Sprintf("v%d", i)})
	}
	tr := mustTrie(t, "GET "+path.String())
	_, ps, ok := tr.Match("GET", req.String())
	if !ok || !reflect.DeepEqual(ps, want) {
		t.Fatalf("got %v %v; want %v", ps, ok, want)
	}
}

func TestMatchDoesNotAllocateWithoutParams(t *testing.T) {
	tr := mustTrie(t, "GET /", "GET /users/me", "GET /users/:id", "GET /a/b/c", "GET /a/:x/d")
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, ok := tr.Match("GET", "/users/me"); !ok {
			t.Fatal("no match")
		}
		if _, _, ok := tr.Match("GET", "/nope/x/y"); ok {
			t.Fatal("match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Match allocates %v times per run without params", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		tr.Match("GET", "/a/b/d")
	})
	if allocs != 1 {
		t.Fatalf("Match allocates %v times per run with params; want 1", allocs)
	}
}

// fill substitutes ps into a route pattern, the inverse of a match.
func fill(pattern string, ps Params) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if s != "" && (s[0] == ':' || s[0] == '*') {
			segs[i] = ps.Get(s[1:])
		}
	}
	return strings.Join(segs, "/")
}

func FuzzTrie(f *testing.F) {
	f.Add("/users/:id\n/users/me\n/files/*rest\n/a/b/c\n/a/:x/d", "GET", "/a/b/d")
	f.Add("/\n/x/\n/:a/:b", "HEAD", "/x/")
	f.Add("/*all\n/:a/b", "POST", "/q/b")
	f.Add("/files/*rest", "GET", "/files")
	f.Add("/a//b\n/{x}\n/api", "GET", "//")
	f.Fuzz(func(t *testing.T, routes, method, path string) {
		tr := NewTrie()
		methods := []string{"GET", "POST", "ANY", "HEAD"}
		for i, p := range strings.Split(routes, "\n") {
			r := Route{ID: int64(i + 1), Method: methods[i%len(methods)], Path: p}
			err := tr.Add(r)
			if err == nil && ValidatePath(p) != nil {
				t.Fatalf("Add accepted invalid path %q", p)
			}
		}
		for _, r := range tr.Routes() {
			if len(tr.Conflicts(r.Method, r.Path)) != 1 {
				t.Fatalf("Conflicts(%s %s) does not find the route itself", r.Method, r.Path)
			}
		}
		r, ps, ok := tr.Match(method, path)
		if !ok {
			return
		}
		segs, err := parsePath(r.Path)
		if err != nil {
			t.Fatalf("matched route with invalid path %q: %v", r.Path, err)
		}
		var vars []segment
		for _, s := range segs {
			if s.kind != segStatic {
				vars = append(vars, s)
			}
		}
		if len(ps) != len(vars) {
			t.Fatalf("route %q captured %v", r.Path, ps)
		}
		for i, p := range ps {
			if p.Key != vars[i].text {
				t.Fatalf("route %q captured %v: key %d is not %q", r.Path, ps, i, vars[i].text)
			}
			if vars[i].kind == segParam && (p.Value == "" || strings.Contains(p.Value, "/")) {
				t.Fatalf("route %q captured %v: parameter %q is not one non-empty segment", r.Path, ps, p.Key)
			}
		}
		got := fill(r.Path, ps)
		// "/files/*rest" matches "/files" with an empty rest.
		if got != path && got != path+"/" {
			t.Fatalf("route %q with %v gives %q; the request was %q", r.Path, ps, got, path)
		}
		if r.Method != method && r.Method != MethodAny && (method != "HEAD" || r.Method != "GET") {
			t.Fatalf("%s request matched a %s route", method, r.Method)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	tr := mustTrie(b,
		"GET /",
		"GET /users",
		"GET /users/:id",
		"GET /users/me",
		"GET /users/:id/posts/:post",
		"POST /users",
		"GET /files/*rest",
		"GET /a/b/c",
		"GET /a/:x/d",
		"ANY /hooks/:name",
		"GET /static/css/site.css",
	)
	cases := []struct{ name, method, path string }{
		{"static", "GET", "/static/css/site.css"},
		{"root", "GET", "/"},
		{"param", "GET", "/users/42"},
		{"two-params", "GET", "/users/42/posts/7"},
		{"wildcard", "GET", "/files/a/b/c.txt"},
		{"backtrack", "GET", "/a/b/d"},
		{"miss", "GET", "/nope/nothing"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr.Match(c.method, c.path)
			}
		})
	}
}

// BenchmarkMatch10k matches in one app holding 10 000 routes, shaped
// like a large REST API: 2 000 resources, each with a collection, an
// item, a nested collection with its item and a static sub-path, under
// two methods. The target is under 1 µs per match.
func BenchmarkMatch10k(b *testing.B) {
	tr := NewTrie()
	id := int64(0)
	add := func(method, path string) {
		id++
		if err := tr.Add(Route{ID: id, Method: method, Path: path, ScriptID: id}); err != nil {
			b.Fatal(err)
		}
	}
	const resources = 2000
	for i := range resources {
		r := "/v1/res" + strconv.Itoa(i)
		add("GET", r)
		add("POST", r)
		add("GET", r+"/:id")
		add("GET", r+"/:id/items/:item")
		add("GET", r+"/:id/meta")
	}
	if n := len(tr.Routes()); n != 10000 {
		b.Fatalf("%d routes, want 10000", n)
	}
	cases := []struct{ name, method, path string }{
		{"static", "POST", "/v1/res1999"},
		{"param", "GET", "/v1/res1234/42"},
		{"two-params", "GET", "/v1/res777/42/items/7"},
		{"static-after-param", "GET", "/v1/res5/42/meta"},
		{"miss", "GET", "/v1/res5000/42"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if _, _, ok := tr.Match(c.method, c.path); ok == (c.name == "miss") {
				b.Fatalf("Match(%s %s) = %v", c.method, c.path, ok)
			}
			b.ReportAllocs()
			for b.Loop() {
				tr.Match(c.method, c.path)
			}
		})
	}
}
