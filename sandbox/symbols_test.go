package sandbox

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/sandbox/stdsyms"
)

func TestScriptCannotChangeHostVariables(t *testing.T) {
	hostUTC, hostLocal := time.UTC, time.Local
	hostStd, hostURL := base64.StdEncoding, base64.URLEncoding
	hostSyntax, hostEOF := strconv.ErrSyntax, io.EOF
	src := handler(`"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"time"`, `
	time.UTC = nil
	time.Local = time.FixedZone("X", 3600)
	base64.StdEncoding = nil
	base64.URLEncoding = nil
	strconv.ErrSyntax = nil
	io.EOF = nil
	return picloud.Text(200, fmt.Sprint(time.UTC == nil, base64.URLEncoding == nil, io.EOF == nil))`)
	res := call(t, src, nil)
	if string(res.Response.Body) != "true true true" {
		t.Errorf("the script's own variables: %s, want them changed", res.Response.Body)
	}
	if time.UTC != hostUTC || time.Local != hostLocal || time.UTC.String() != "UTC" || time.Local.String() != "Local" {
		t.Errorf("host time.UTC = %v, time.Local = %v", time.UTC, time.Local)
	}
	if base64.StdEncoding != hostStd || base64.URLEncoding != hostURL {
		t.Errorf("host base64 encodings changed")
	}
	if strconv.ErrSyntax != hostSyntax || io.EOF != hostEOF {
		t.Errorf("host error variables changed")
	}
}

func TestIsolatedVariablesStillWork(t *testing.T) {
	src := handler(`"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"time"`, `
	_, err := strconv.Atoi("x")
	_, eof := bytes.NewReader(nil).Read(make([]byte, 1))
	d := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	return picloud.JSON(200, map[string]any{
		"b64":    base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}),
		"url":    base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff}),
		"syntax": errors.Is(err, strconv.ErrSyntax),
		"eof":    eof == io.EOF,
		"utc":    d.Format(time.RFC3339),
		"local":  time.Unix(0, 0).In(time.Local).Location().String(),
	})`)
	res := call(t, src, nil)
	want := `{"b64":"+/8=","eof":true,"local":"Local","syntax":true,"url":"-_8=","utc":"2024-01-02T03:04:05Z"}`
	if got := string(res.Response.Body); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

// TestPointerVariablesAreDeepCopies runs what Check refuses (a write
// through a pointer) straight on an interpreter, to show the second lock:
// the pointer variables themselves point at private copies.
func TestPointerVariablesAreDeepCopies(t *testing.T) {
	i, err := newInterpreter([]string{"encoding/base64", "time"}, interpOutput{out: io.Discard, traces: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	_, err = i.Eval(`package main

import ("encoding/base64"; "time")

func change() {
	*base64.StdEncoding = *base64.URLEncoding
	*time.UTC = *time.FixedZone("X", 3600)
	*time.Local = *time.FixedZone("Y", 7200)
}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.Eval("change()"); err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}); got != "+/8=" {
		t.Errorf("host base64.StdEncoding now encodes %q", got)
	}
	if time.UTC.String() != "UTC" || time.Local.String() != "Local" {
		t.Errorf("host time.UTC = %v, time.Local = %v", time.UTC, time.Local)
	}
}

func TestSymbolTable(t *testing.T) {
	for _, p := range AllowedImports() {
		t.Run(p, func(t *testing.T) {
			exports, err := symbolTable([]string{p}, interpOutput{out: io.Discard, traces: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if p == sdkImportPath {
				return
			}
			key := p + "/" + filepath.Base(p)
			if p == "fmt" {
				key = fmtExportKey
			}
			got := exports[key]
			if len(got) == 0 {
				t.Fatalf("no symbols under %q", key)
			}
			for name, host := range stdlib.Symbols[p+"/"+filepath.Base(p)] {
				v, ok := got[name]
				switch {
				case !host.CanAddr():
					continue
				case !ok:
					t.Logf("variable %s.%s withheld", p, name)
					continue
				case v.Addr().Pointer() == host.Addr().Pointer():
					t.Errorf("variable %s.%s is the host's", p, name)
				case v.Kind() == reflect.Pointer && v.Pointer() == host.Pointer():
					t.Errorf("variable %s.%s points at the host's value", p, name)
				}
			}
		})
	}
}

func TestSymbolTableLeavesOut(t *testing.T) {
	tests := []struct {
		name, source string
		line         int
		contains     string
	}{
		{"fmt.Scan reads stdin", handler(`"fmt"`, "\tvar s string\n\tfmt.Scan(&s)\n\treturn nil"), 10, "has no symbol Scan"},
		{"time.AfterFunc starts a goroutine", handler(`"time"`, "\ttime.AfterFunc(0, func() { panic(1) })\n\treturn nil"), 9, "has no symbol AfterFunc"},
		{"time.LoadLocation reads the disk", handler(`"time"`, "\t_, _ = time.LoadLocation(\"Europe/Paris\")\n\treturn nil"), 9, "has no symbol LoadLocation"},
		{"unicode tables are shared", handler(`"unicode"`, "\t_ = unicode.Is(unicode.Latin, 'a')\n\treturn nil"), 9, "has no symbol Latin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(context.Background(), tt.source)
			var ce *CompileError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, tt.contains) || ce.Line != tt.line {
				t.Errorf("Check = %v, want %q at line %d", err, tt.contains, tt.line)
			}
		})
	}
	// What stays in unicode still works.
	res := call(t, handler(`"unicode"`, "\treturn picloud.Text(200, string(unicode.ToUpper('a')))"), nil)
	if string(res.Response.Body) != "A" {
		t.Errorf("unicode.ToUpper: %s", res.Response.Body)
	}
}

// TestNoSourceReadFromDisk shows the second lock behind the import
// allowlist: an interpreter built by the sandbox never reads an import's
// source from disk, where a default yaegi interpreter does.
func TestNoSourceReadFromDisk(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "foo", "foo.go"), "package foo\n\nfunc X() int { return 42 }\n")
	writeFile(t, filepath.Join(dir, "src", "github.com", "x", "y", "y.go"), "package y\n\nfunc X() int { return 43 }\n")
	t.Chdir(dir)
	sources := map[string]string{
		"relative": "package main\nimport \"./foo\"\nfunc F() int { return foo.X() }\n",
		"gopath":   "package main\nimport \"github.com/x/y\"\nfunc F() int { return y.X() }\n",
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			control := interp.New(interp.Options{GoPath: dir})
			if _, err := control.Eval(src); err != nil {
				t.Fatalf("control: a default interpreter should read the import from disk: %v", err)
			}
			i, err := newInterpreter(nil, interpOutput{out: io.Discard, traces: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := i.Compile(src); err == nil {
				t.Error("the sandbox's interpreter compiled an import from disk")
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAllowedImports(t *testing.T) {
	got := AllowedImports()
	for _, want := range []string{"picloud", "strings", "strconv", "encoding/json", "time", "net/url", "crypto/hmac"} {
		if !slices.Contains(got, want) {
			t.Errorf("AllowedImports lacks %q", want)
		}
	}
	for _, bad := range []string{"os", "os/exec", "syscall", "unsafe", "net", "net/http", "reflect", "runtime", "plugin", "io/ioutil", "io/fs", "path/filepath", "log", "embed", "text/template", "html/template", "context", "sync"} {
		if slices.Contains(got, bad) {
			t.Errorf("AllowedImports has %q", bad)
		}
	}
}

func TestFormatPanicValueSurvivesBadStringers(t *testing.T) {
	src := `package main

import (
	"fmt"
	"picloud"
)

type bad struct{}

func (bad) Error() string { panic("again") }

func Handle(req *picloud.Request) *picloud.Response {
	panic(fmt.Errorf("wrapped: %w", bad{}))
}
`
	in, err := New(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if res := in.Call(context.Background(), nil); res.Panic == nil {
		t.Error("want a panic")
	}
}

// TestAllowedPackagesWork exercises the allowed packages the way scripts
// use them, through yaegi's wrappers.
func TestAllowedPackagesWork(t *testing.T) {
	src := `package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"html"
	"io"
	"math"
	mrand "math/rand"
	"net/url"
	"path"
	"picloud"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type order struct {
	ID    int      ` + "`json:\"id\"`" + `
	Items []string ` + "`json:\"items\"`" + `
}

var errNotFound = errors.New("not found")

func sum(h hash.Hash, s string) string {
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

func Handle(req *picloud.Request) *picloud.Response {
	var o order
	if err := json.Unmarshal(req.Body, &o); err != nil {
		return picloud.Text(400, err.Error())
	}
	sort.Strings(o.Items)
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte("msg"))
	u, _ := url.Parse("https://example.com/a/b?x=1")
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	all, _ := io.ReadAll(strings.NewReader("read"))
	wrapped := fmt.Errorf("order %d: %w", o.ID, errNotFound)
	n, err := strconv.Atoi("x")
	var numErr *strconv.NumError
	return picloud.JSON(200, map[string]any{
		"items":  o.Items,
		"hmac":   hex.EncodeToString(mac.Sum(nil))[:8],
		"md5":    sum(md5.New(), "a")[:8],
		"sha1":   sum(sha1.New(), "a")[:8],
		"sha512": sum(sha512.New(), "a")[:8],
		"host":   u.Host + path.Dir(u.Path) + u.Query().Get("x"),
		"nonce":  len(base64.RawURLEncoding.EncodeToString(nonce)),
		"read":   string(bytes.ToUpper(all)),
		"is":     errors.Is(wrapped, errNotFound),
		"as":     errors.As(err, &numErr) && n == 0,
		"html":   html.EscapeString("<b>"),
		"re":     regexp.MustCompile("b+").ReplaceAllString("abbbc", "B"),
		"math":   math.Sqrt(16) + float64(mrand.Intn(1)),
		"time":   time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC).Add(90 * time.Minute).Format(time.RFC3339),
		"rune":   unicode.IsUpper('A') && utf8.RuneCountInString("héllo") == 5,
	})
}
`
	res := call(t, src, &sdk.Request{Body: []byte(`{"id": 7, "items": ["b", "a"]}`)})
	want := `{"as":true,"hmac":"2d93cbc1","host":"example.com/a1","html":"\u0026lt;b\u0026gt;","is":true,"items":["a","b"],"math":4,"md5":"0cc175b9","nonce":11,"re":"aBc","read":"READ","rune":true,"sha1":"86f7e437","sha512":"1f40fc92","time":"2024-02-03T05:35:06Z"}`
	if got := string(res.Response.Body); got != want {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
}

// TestStdsymsAreYaegis: the symbol tables scripts get (sandbox/stdsyms,
// copied so that processes do not link and initialise the whole standard
// library) are yaegi's own, for every allowed standard package: the same
// names, each of the same kind and type. Run `go generate
// ./sandbox/stdsyms` when this fails after a yaegi upgrade or an
// allowlist change.
func TestStdsymsAreYaegis(t *testing.T) {
	for _, p := range AllowedImports() {
		if p == sdkImportPath {
			continue
		}
		key := p + "/" + filepath.Base(p)
		want, got := stdlib.Symbols[key], stdsyms.Symbols[key]
		if len(want) == 0 {
			t.Errorf("%s: yaegi has no symbols", p)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d symbols, yaegi has %d", p, len(got), len(want))
		}
		for name, w := range want {
			g, ok := got[name]
			switch {
			case !ok:
				t.Errorf("%s.%s: missing", p, name)
			case g.Kind() != w.Kind() || ownType(g.Type()) != ownType(w.Type()):
				t.Errorf("%s.%s: %v %v, yaegi has %v %v", p, name, g.Kind(), g.Type(), w.Kind(), w.Type())
			case g.Kind() == reflect.Func && g.Pointer() != w.Pointer():
				t.Errorf("%s.%s: another func than yaegi's", p, name)
			}
		}
	}
	// MapTypes, keyed by what each key is (yaegi's interface wrappers are
	// types of their own package), net/http's left out with net/http.
	mapTypes := func(mt map[reflect.Value][]reflect.Type) map[string]string {
		out := map[string]string{}
		for k, v := range mt {
			key := ownType(k.Type())
			if k.Kind() == reflect.Func {
				key = runtime.FuncForPC(k.Pointer()).Name()
			}
			if strings.Contains(key, "net_http") {
				continue
			}
			names := make([]string, len(v))
			for i, typ := range v {
				names[i] = ownType(typ)
			}
			out[key] = strings.Join(names, ",")
		}
		return out
	}
	if got, want := mapTypes(stdsyms.MapTypes), mapTypes(stdlib.MapTypes); !maps.Equal(got, want) {
		t.Errorf("MapTypes = %v, yaegi has %v", got, want)
	}
}

// ownType names a type with yaegi's package and ours alike.
func ownType(t reflect.Type) string {
	return strings.NewReplacer("stdsyms.", "P.", "stdlib.", "P.").Replace(t.String())
}
