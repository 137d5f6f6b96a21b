package webui

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func serve(t *testing.T, method, path string) *fasthttp.Response {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	Handler()(&ctx)
	res := new(fasthttp.Response)
	ctx.Response.CopyTo(res)
	return res
}

// anImmutableFile returns the path of one hashed build file.
func anImmutableFile(t *testing.T) string {
	t.Helper()
	var found string
	_ = fs.WalkDir(assets, "dist/"+strings.TrimSuffix(immutableDir, "/"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") && found == "" {
			found = strings.TrimPrefix(p, "dist/")
		}
		return nil
	})
	if found == "" {
		t.Fatal("no built .js file under dist/" + immutableDir + "; run make ui")
	}
	return found
}

func TestHandler(t *testing.T) {
	index, err := fs.ReadFile(assets, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	js := anImmutableFile(t)
	tests := []struct {
		name, method, path string
		status             int
		ctype, cache       string
		index              bool
	}{
		{"root", "GET", "/admin", 200, "text/html", "no-cache", true},
		{"root slash", "GET", "/admin/", 200, "text/html", "no-cache", true},
		{"page path", "GET", "/admin/apps/shop/scripts/3", 200, "text/html", "no-cache", true},
		{"setup link", "GET", "/admin/setup?token=abc", 200, "text/html", "no-cache", true},
		{"hashed asset", "GET", "/admin/" + js, 200, "javascript", "immutable", false},
		{"head", "HEAD", "/admin/" + js, 200, "javascript", "immutable", false},
		{"missing asset", "GET", "/admin/_app/immutable/nope.js", 404, "", "", false},
		{"dot dot stays inside", "GET", "/admin/../../webui.go", 200, "text/html", "no-cache", true},
		{"post", "POST", "/admin/", 405, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(t, tt.method, tt.path)
			if res.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode(), tt.status)
			}
			if ct := string(res.Header.ContentType()); !strings.Contains(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			if cc := string(res.Header.Peek("Cache-Control")); !strings.Contains(cc, tt.cache) {
				t.Errorf("Cache-Control %q, want %q", cc, tt.cache)
			}
			if tt.index && tt.method == "GET" && string(res.Body()) != string(index) {
				t.Errorf("body is not index.html")
			}
		})
	}
}

// The dashboard's page must load its code from /admin/, where the Go side
// serves it.
func TestIndexLoadsFromPrefix(t *testing.T) {
	index, err := fs.ReadFile(assets, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), `"`+Prefix+`/_app/immutable/`) {
		t.Errorf("index.html does not load its code from %s/_app/immutable/:\n%s", Prefix, index)
	}
}
