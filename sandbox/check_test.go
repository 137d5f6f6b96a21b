package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckRefuses(t *testing.T) {
	// Each source marks the expected error position with the line and
	// column given; message must appear in the error.
	tests := []struct {
		name     string
		source   string
		line     int
		column   int
		contains string
	}{
		{"syntax error", "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.Text(200, \"x\"\n}\n", 6, 30, "missing ','"},
		{"undefined", "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.JSON(200, undefinedThing)\n}\n", 6, 27, "undefined: undefinedThing"},
		{"type error", handler("", "\tvar n int = \"x\"\n\t_ = n\n\treturn nil"), 9, 14, "cannot convert"},
		{"not package main", "package foo\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n", 1, 9, "package must be main"},
		{"import os", handler(`"os"`, "\treturn nil"), 5, 2, `import "os" is not allowed`},
		{"import os/exec", handler(`"os/exec"`, "\treturn nil"), 5, 2, `import "os/exec" is not allowed`},
		// The sandbox's own host package, used to arm the stop switch.
		{"import picloudhost", handler(`"picloudhost"`, "\treturn nil"), 5, 2, `import "picloudhost" is not allowed`},
		{"picloudhost without an import", handler("", "\tpicloudhost.Park()\n\treturn nil"), 9, 2, "picloudhost is a reserved name"},
		{"import net", handler(`"net"`, "\treturn nil"), 5, 2, `import "net" is not allowed`},
		{"import net/http", handler(`"net/http"`, "\treturn nil"), 5, 2, `import "net/http" is not allowed`},
		{"import unsafe", handler(`"unsafe"`, "\treturn nil"), 5, 2, `import "unsafe" is not allowed`},
		{"import reflect", handler(`"reflect"`, "\treturn nil"), 5, 2, `import "reflect" is not allowed`},
		{"import syscall", handler(`"syscall"`, "\treturn nil"), 5, 2, `import "syscall" is not allowed`},
		{"import runtime", handler(`"runtime"`, "\treturn nil"), 5, 2, `import "runtime" is not allowed`},
		{"import plugin", handler(`"plugin"`, "\treturn nil"), 5, 2, `import "plugin" is not allowed`},
		{"import text/template", handler(`"text/template"`, "\treturn nil"), 5, 2, `import "text/template" is not allowed`},
		{"import yaegi", handler(`"github.com/traefik/yaegi/interp"`, "\treturn nil"), 5, 2, "is not allowed"},
		{"import from the internet", handler(`"github.com/x/y"`, "\treturn nil"), 5, 2, `import "github.com/x/y" is not allowed`},
		{"relative import", handler(`"./foo"`, "\treturn nil"), 5, 2, `import "./foo" is not allowed`},
		{"aliased forbidden import", handler(`o "os"`, "\treturn nil"), 5, 4, `import "os" is not allowed`},
		{"slices", handler(`"slices"`, "\treturn nil"), 5, 2, "generic packages"},
		{"cgo", "package main\n\n// #include <stdio.h>\nimport \"C\"\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n", 4, 8, "cgo"},
		{"dot import", handler(`. "strings"`, "\t_ = ToUpper\n\treturn nil"), 5, 2, "dot import"},
		{"go statement", handler("", "\tgo func() {}()\n\treturn nil"), 9, 2, "go statements are not allowed"},
		{"go statement in a closure", handler("", "\tf := func() {\n\t\tgo println()\n\t}\n\tf()\n\treturn nil"), 10, 3, "go statements"},
		{"init", handler("", "\treturn nil\n}\n\nfunc init() {"), 12, 6, "func init is not allowed"},
		{"main", handler("", "\treturn nil\n}\n\nfunc main() {"), 12, 6, "func main is not allowed"},
		{"linkname", "package main\n\nimport \"picloud\"\n\n//go:linkname now time.now\nfunc now() (int64, int32, int64)\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n", 5, 1, "//go:linkname"},
		{"embed", "package main\n\nimport \"picloud\"\n\n//go:embed secret.txt\nvar secret string\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n", 5, 1, "//go:embed"},
		{"deref assignment", handler(`"time"`, "\t*time.Now().UTC().Location() = *time.FixedZone(\"X\", 3600)\n\treturn nil"), 9, 2, "pointer dereference"},
		{"deref swap", handler("", "\ta, b := new(int), new(int)\n\t*a, *b = *b, *a\n\treturn nil"), 10, 2, "pointer dereference"},
		{"deref increment", handler("", "\tp := new(int)\n\t(*p)++\n\treturn nil"), 10, 3, "pointer dereference"},
		{"deref op-assign", handler("", "\tp := new(int)\n\t*p += 1\n\treturn nil"), 10, 2, "pointer dereference"},
		{"deref range", handler("", "\tp := new(int)\n\tfor *p = range 3 {\n\t}\n\treturn nil"), 10, 6, "pointer dereference"},
		{"missing Handle", "package main\n\nimport \"picloud\"\n\nfunc handle(req *picloud.Request) *picloud.Response { return nil }\n", 1, 9, "missing handler"},
		{"Handle is a variable", "package main\n\nimport \"picloud\"\n\nvar Handle = func(req *picloud.Request) *picloud.Response { return nil }\n", 1, 9, "missing handler"},
		{"Handle without picloud", "package main\n\nfunc Handle(req *Request) *Response { return nil }\n", 3, 6, `needs import "picloud"`},
		{"Handle wrong param", "package main\n\nimport \"picloud\"\n\nfunc Handle(req picloud.Request) *picloud.Response { return nil }\n", 5, 6, "wrong signature"},
		{"Handle two params", "package main\n\nimport \"picloud\"\n\nfunc Handle(a, b *picloud.Request) *picloud.Response { return nil }\n", 5, 6, "wrong signature"},
		{"Handle no result", "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) {}\n", 5, 6, "wrong signature"},
		{"Handle extra result", "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) (*picloud.Response, error) { return nil, nil }\n", 5, 6, "wrong signature"},
		{"Handle generic", "package main\n\nimport \"picloud\"\n\nfunc Handle[T any](req *picloud.Request) *picloud.Response { return nil }\n", 5, 6, "wrong signature"},
		{"huge constant string", handler("", "\tconst a = \"0123456789\"\n\tconst b = a + a + a + a + a + a + a + a + a + a\n\tconst c = b + b + b + b + b + b + b + b + b + b\n\tconst d = c + c + c + c + c + c + c + c + c + c\n\tconst e = d + d + d + d + d + d + d + d + d + d\n\tconst f = e + e + e + e + e + e + e + e + e + e\n\tconst g = f + f + f + f + f + f + f + f + f + f\n\treturn picloud.Text(200, g)"), 14, 12, "constant string too large"},
		{"many large constant strings", handler("", "\tconst a = \"0123456789\"\n\tconst b = a + a + a + a + a + a + a + a + a + a\n\tconst c = b + b + b + b + b + b + b + b + b + b\n\tconst d = c + c + c + c + c + c + c + c + c + c\n\tconst e = d + d + d + d + d + d + d + d + d + d\n\tconst (\n\t\tf = e + e + e + e + e + e + e + e\n\t\tg\n\t\th\n\t\ti\n\t\tj\n\t)\n\treturn picloud.Text(200, j)"), 19, 3, "too large in total"},
		{"constant overflow", handler("", "\tconst a = 1 << 500\n\tconst b = a * a * a * a * a * a * a * a\n\tconst c = b * b\n\treturn picloud.JSON(200, c)"), 10, 14, "overflow"},
		{"huge shift", handler("", "\tconst a = 1 << 1000000000\n\t_ = a\n\treturn nil"), 9, 17, "shift count"},
		{"shift of a package constant", handler(`"math"`, "\tconst a = math.MaxInt64 << 100000\n\t_ = a\n\treturn nil"), 9, 29, "shift count"},
		// yaegi compiles these, then fails every load with a nil
		// dereference and no line.
		{"generic literal in a map literal", generic("\treturn picloud.JSON(200, map[string]any{\"p\": Pair[string, int]{\"a\", 1}})"), 10, 47, "Pair[string, int]{...} as an element"},
		{"generic literal in a slice literal", generic("\t_ = []any{1, Pair[string, int]{}}\n\treturn nil"), 10, 15, "write (Pair[string, int]{...}) in parentheses"},
		{"generic literal in a named slice", generic("\ttype list []any\n\t_ = list{Pair[int, int]{}}\n\treturn nil"), 11, 11, "Pair[int, int]{...} as an element"},
		{"generic literal in a package-level variable", "package main\n\nimport \"picloud\"\n\ntype Pair[K, V any] struct{ A K; B V }\n\nvar pairs = [][]any{{Pair[string, int]{}}}\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n", 7, 22, "as an element"},
		// yaegi panics while compiling this; the position in its message
		// is kept.
		{"interpreter panic while compiling", generic("\treturn picloud.JSON(200, g[int]())\n}\n\nfunc f[T any]() int { return 0 }\n\nfunc g[T any]() int {\n\treturn f[Box[T]]()"), 10, 27, "the interpreter cannot compile this"},
		{"first problem wins", handler(`"os"`, "\tgo func() {}()\n\treturn nil"), 5, 2, `import "os"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, run := range []struct {
				name string
				fn   func(string) error
			}{
				{"Check", func(src string) error { return Check(context.Background(), src) }},
				{"New", func(src string) error { _, err := New(context.Background(), src, Options{}); return err }},
			} {
				err := run.fn(tt.source)
				var ce *CompileError
				if !errors.As(err, &ce) {
					t.Fatalf("%s = %v, want *CompileError", run.name, err)
				}
				if ce.Line != tt.line || ce.Column != tt.column || !strings.Contains(ce.Message, tt.contains) {
					t.Errorf("%s = %q at %d:%d, want %q at %d:%d", run.name, ce.Message, ce.Line, ce.Column, tt.contains, tt.line, tt.column)
				}
			}
		})
	}
}

func TestCompileErrorMessage(t *testing.T) {
	src := "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.JSON(200, map[string]any{\"x\": undefinedThing})\n}\n"
	err := Check(context.Background(), src)
	if got, want := err.Error(), "line 6, column 47: undefined: undefinedThing"; got != want {
		t.Errorf("Check = %q, want %q", got, want)
	}
}

func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name   string
		source string
	}{
		{"hello", helloScript},
		{"template", HelloWorld},
		{"aliased sdk", "package main\n\nimport pc \"picloud\"\n\nfunc Handle(r *pc.Request) *pc.Response { return pc.Text(200, \"x\") }\n"},
		{"named result", "package main\n\nimport \"picloud\"\n\nfunc Handle(req *picloud.Request) (resp *picloud.Response) { return }\n"},
		{"unnamed param", "package main\n\nimport \"picloud\"\n\nfunc Handle(*picloud.Request) *picloud.Response { return nil }\n"},
		{"field and index writes through pointers", handler("", "\ttype box struct{ n int }\n\tb := &box{}\n\tb.n = 1\n\t(*b).n++\n\tarr := &[2]int{}\n\tarr[0] = b.n\n\treturn nil")},
		{"go in a string and a comment", handler("", "\t// go func() {}\n\t_ = \"go func() {}\"\n\treturn nil")},
		{"every allowed import", everyImportScript()},
		{"generic literals the interpreter runs", generic("\ttype holder struct{ P any }\n\tp := Pair[string, int]{\"a\", 1}\n\t_ = []any{p, (Pair[string, int]{}), holder{Pair[int, int]{}}, []Box[int]{{1}}, map[string]any{\"b\": Box[int]{}}}\n\treturn picloud.JSON(200, map[string]any{\"p\": p})")},
		{"constants within Go's limits", handler(`"math"
	"time"`, "\tconst big = 1 << 62\n\tconst huge = 1 << 500 >> 490\n\tvar overflow int // unused: go/types would complain, yaegi does not\n\td := 3 * time.Second\n\t_ = d + math.MaxInt64>>60 + big + huge\n\treturn nil")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(context.Background(), tt.source); err != nil {
				t.Errorf("Check = %v", err)
			}
			in, err := New(context.Background(), tt.source, Options{})
			if err != nil {
				t.Fatalf("New = %v", err)
			}
			defer in.Close()
			if res := in.Call(context.Background(), nil); res.Panic != nil {
				t.Errorf("Call panicked: %v", res.Panic)
			}
		})
	}
}

// generic is a handler with body after the generic types Pair and Box.
func generic(body string) string {
	return "package main\n\nimport \"picloud\"\n\ntype Pair[K, V any] struct{ A K; B V }\n\ntype Box[T any] struct{ V T }\n\n" +
		"func Handle(req *picloud.Request) *picloud.Response {\n" + body + "\n}\n"
}

// everyImportScript imports every allowed package (blank, so unused ones
// compile) and uses a few of each kind.
func everyImportScript() string {
	var imports []string
	for _, p := range AllowedImports() {
		if p != sdkImportPath {
			imports = append(imports, `_ "`+p+`"`)
		}
	}
	return handler(strings.Join(imports, "\n\t"), "\treturn nil")
}

// TestInterpreterFailureIsLocated loads a source the go/parser pass
// would refuse (see checkGenericLiterals) to show the net behind it: a
// construct yaegi compiles and cannot run is a *CompileError at the
// function that holds it, not a panic without a line.
func TestInterpreterFailureIsLocated(t *testing.T) {
	src := `package main

import "picloud"

type Pair[K, V any] struct{ A K; B V }

func fine() any { return Pair[int, int]{} }

func broken() any {
	return []any{Pair[string, int]{}}
}

func alsoFine() int { return 1 }

func Handle(req *picloud.Request) *picloud.Response { return picloud.JSON(200, []any{fine(), broken(), alsoFine()}) }
`
	s := &script{imports: []string{sdkImportPath}}
	_, err := build(context.Background(), s, src, Options{})
	var failure *interpreterFailure
	if !errors.As(err, &failure) {
		t.Fatalf("build = %v, want an interpreter failure", err)
	}
	ce := locateFailure(context.Background(), s, src, failure)
	if ce.Line != 9 || ce.Column != 6 || !strings.Contains(ce.Message, "func broken") {
		t.Errorf("located at %v, want func broken at line 9, column 6", ce)
	}
}
