package sandbox

import (
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// scriptName is the file name scripts are parsed under.
const scriptName = "script.go"

// handleSignature is the handler every script declares.
const handleSignature = "func Handle(req *picloud.Request) *picloud.Response"

// script is what the go/parser pass learned about a source.
type script struct {
	// imports are the import paths, each allowed, without duplicates.
	imports []string
	// handle is the position of func Handle.
	handle token.Position
}

// parseScript parses source and refuses what yaegi cannot be trusted to
// forbid: imports outside the allowlist, cgo, go statements, //go:
// directives, init and main functions, assignments through a pointer
// dereference, constants past Go's limits (see checkConstants), and a
// missing or mistyped Handle; and what yaegi compiles but cannot run
// (see checkGenericLiterals). The first problem in source order is
// returned as *CompileError.
func parseScript(source string) (*script, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, scriptName, source, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, syntaxError(err)
	}
	c := &checker{fset: fset}
	if f.Name.Name != "main" {
		c.errorf(f.Name.Pos(), "package must be main, not %s", f.Name.Name)
	}
	sdkName := c.checkImports(f)
	c.checkDirectives(f)
	c.checkDecls(f)
	ast.Inspect(f, c.checkNode)
	handle := c.checkHandle(f, sdkName)
	c.checkConstants(f)
	c.checkGenericLiterals(f)
	if len(c.problems) > 0 {
		slices.SortStableFunc(c.problems, func(a, b *CompileError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, c.problems[0]
	}
	s := &script{handle: handle}
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		if !slices.Contains(s.imports, p) {
			s.imports = append(s.imports, p)
		}
	}
	return s, nil
}

// syntaxError turns a go/parser error into a *CompileError.
func syntaxError(err error) error {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		e := list[0]
		return &CompileError{Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg}
	}
	return &CompileError{Line: 1, Column: 1, Message: err.Error()}
}

// checker collects the problems of one source.
type checker struct {
	fset     *token.FileSet
	problems []*CompileError
}

func (c *checker) errorf(pos token.Pos, format string, args ...any) {
	p := c.fset.Position(pos)
	c.problems = append(c.problems, &CompileError{Line: p.Line, Column: p.Column, Message: fmt.Sprintf(format, args...)})
}

// checkImports refuses imports outside the allowlist and returns the name
// the file gives package picloud ("" when it is not imported).
func (c *checker) checkImports(f *ast.File) string {
	sdkName := ""
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		switch {
		case err != nil:
			c.errorf(spec.Path.Pos(), "malformed import path %s", spec.Path.Value)
			continue
		case p == "C":
			c.errorf(spec.Path.Pos(), `cgo (import "C") is not allowed in scripts`)
			continue
		}
		if _, ok := lookupImport(p); !ok {
			c.errorf(spec.Path.Pos(), "%s", refusedImport(p))
			continue
		}
		if spec.Name != nil && spec.Name.Name == "." {
			c.errorf(spec.Name.Pos(), "dot import of %q is not supported in scripts", p)
			continue
		}
		if p == sdkImportPath {
			sdkName = sdkImportPath
			if spec.Name != nil {
				sdkName = spec.Name.Name
			}
		}
	}
	return sdkName
}

// refusedImport explains why path cannot be imported.
func refusedImport(path string) string {
	switch path {
	case "slices", "maps", "cmp":
		return fmt.Sprintf("import %q is not supported in scripts yet: the interpreter cannot run the generic packages slices, maps and cmp; use sort and loops", path)
	}
	return fmt.Sprintf("import %q is not allowed in scripts (allowed: %s)", path, strings.Join(AllowedImports(), ", "))
}

// checkDirectives refuses //go: directives (go:linkname, go:embed, ...),
// which reach past the allowlist in compiled Go and have no place in a
// script.
func (c *checker) checkDirectives(f *ast.File) {
	for _, group := range f.Comments {
		for _, comment := range group.List {
			if rest, ok := strings.CutPrefix(comment.Text, "//go:"); ok {
				name, _, _ := strings.Cut(rest, " ")
				c.errorf(comment.Pos(), "directive //go:%s is not allowed in scripts", name)
			}
		}
	}
}

// checkDecls refuses init and main, which would run when the script is
// loaded rather than per request, and functions without a body.
func (c *checker) checkDecls(f *ast.File) {
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok {
			continue
		}
		switch {
		case fn.Recv == nil && fn.Name.Name == "init":
			c.errorf(fn.Name.Pos(), "func init is not allowed in scripts: initialise package-level variables instead")
		case fn.Recv == nil && fn.Name.Name == "main":
			c.errorf(fn.Name.Pos(), "func main is not allowed in scripts: requests enter through func Handle")
		case fn.Body == nil:
			c.errorf(fn.Name.Pos(), "func %s has no body", fn.Name.Name)
		}
	}
}

// checkNode refuses go statements, the sandbox's reserved name and
// assignments through a pointer dereference. The latter matter because some host functions hand out
// pointers to host globals: `*time.Now().UTC().Location() = *other` would
// rewrite the whole process's time.UTC.
func (c *checker) checkNode(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.GoStmt:
		c.errorf(n.Pos(), "go statements are not allowed in scripts")
	case *ast.Ident:
		// The sandbox's own package is known to the script's package
		// without an import (see armStop).
		if n.Name == hostImportPath {
			c.errorf(n.Pos(), "%s is a reserved name in scripts", hostImportPath)
		}
	case *ast.AssignStmt:
		for _, lhs := range n.Lhs {
			c.checkTarget(lhs)
		}
	case *ast.IncDecStmt:
		c.checkTarget(n.X)
	case *ast.RangeStmt:
		if n.Tok == token.ASSIGN {
			c.checkTarget(n.Key)
			c.checkTarget(n.Value)
		}
	}
	return true
}

func (c *checker) checkTarget(e ast.Expr) {
	if e == nil {
		return
	}
	if star, ok := ast.Unparen(e).(*ast.StarExpr); ok {
		c.errorf(star.Pos(), "assignment through a pointer dereference (*p = ...) is not allowed in scripts: assign to a variable or a field instead")
	}
}

// checkHandle requires a top-level func Handle(req *picloud.Request)
// *picloud.Response and returns its position.
func (c *checker) checkHandle(f *ast.File, sdkName string) token.Position {
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != "Handle" {
			continue
		}
		switch {
		case sdkName == "":
			c.errorf(fn.Name.Pos(), `func Handle needs import "picloud": declare %s`, handleSignature)
		case !isHandleType(fn.Type, sdkName):
			c.errorf(fn.Name.Pos(), "func Handle has the wrong signature: declare %s", handleSignature)
		}
		return c.fset.Position(fn.Name.Pos())
	}
	c.errorf(f.Name.Pos(), "missing handler: declare %s", handleSignature)
	return token.Position{}
}

// isHandleType reports whether ft is func(*sdk.Request) *sdk.Response,
// with sdk the file's name for package picloud.
func isHandleType(ft *ast.FuncType, sdkName string) bool {
	if ft.TypeParams != nil || ft.Results == nil {
		return false
	}
	params, results := ft.Params.List, ft.Results.List
	return len(params) == 1 && len(params[0].Names) <= 1 && isSDKPointer(params[0].Type, sdkName, "Request") &&
		len(results) == 1 && len(results[0].Names) <= 1 && isSDKPointer(results[0].Type, sdkName, "Response")
}

// isSDKPointer reports whether e is *sdkName.typeName.
func isSDKPointer(e ast.Expr, sdkName, typeName string) bool {
	star, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == sdkName && sel.Sel.Name == typeName
}
