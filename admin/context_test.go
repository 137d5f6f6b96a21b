package admin_test

import (
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoRequestAsContext keeps the request deadline from being
// forgotten: *fasthttp.RequestCtx is a context.Context, with no deadline
// and recycled after the handler returns, so passing it where package
// admin's code takes a context (a database call, the deployer, the
// checker) compiles but runs unbounded and races. Handlers get a bounded
// ctx from handle; this test fails on any call that passes the request
// instead.
func TestNoRequestAsContext(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks package admin")
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, af)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: exportImporter(t, fset)}
	if _, err := conf.Check("github.com/picloud/picloud/admin", fset, parsed, info); err != nil {
		t.Fatal(err)
	}
	for _, af := range parsed {
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sig, ok := info.Types[call.Fun].Type.(*types.Signature)
			if !ok || isWithoutCancel(call.Fun) {
				// context.WithoutCancel(rc) is how requestContext makes
				// the bounded ctx from the request.
				return true
			}
			for i, arg := range call.Args {
				if i >= sig.Params().Len() || !isContext(sig.Params().At(i).Type()) {
					continue
				}
				if isRequestCtx(info.Types[arg].Type) {
					t.Errorf("%s: the request is passed as a context.Context; pass the handler's ctx (bounded by the request timeout)",
						fset.Position(arg.Pos()))
				}
			}
			return true
		})
	}
}

func isWithoutCancel(fun ast.Expr) bool {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "context" && sel.Sel.Name == "WithoutCancel"
}

func isContext(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

func isRequestCtx(t types.Type) bool {
	p, ok := t.(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := p.Elem().(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "github.com/valyala/fasthttp" && n.Obj().Name() == "RequestCtx"
}

// exportImporter imports the dependencies of package admin from the
// export data the go command builds (and caches).
func exportImporter(t *testing.T, fset *token.FileSet) types.Importer {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Export", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
	}
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
}
