package sandbox

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"path"
	"strings"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/sandbox/stdsyms"
)

// Limits on constant strings. yaegi folds constant expressions exactly and
// materialises string constants, so ten lines of `const b = a+a+...+a`
// would make Check allocate gigabytes in the control plane.
const (
	maxConstString      = 1 << 20 // bytes in one constant string expression
	maxConstStringTotal = 4 << 20 // bytes in all of a script's
)

// checkConstants refuses constant expressions that would make yaegi's
// constant folding (unbounded, unlike the Go compiler's) eat the host's
// memory or CPU: huge string constants, integer constants past Go's 512
// bits and out-of-range shift counts. It runs before yaegi sees the
// source.
func (c *checker) checkConstants(f *ast.File) {
	if c.checkConstStrings(f) {
		c.checkConstNumbers(f)
	}
}

// checkConstStrings bounds string constants by an over-estimate computed
// from the syntax alone: go/types itself would build the huge string to
// evaluate len(s) or to quote it in an error message.
func (c *checker) checkConstStrings(f *ast.File) bool {
	e := &stringSizer{consts: constSpecs(f), memo: map[string]int{}, visiting: map[string]bool{}}
	total := 0
	ok := true
	ast.PreorderStack(f, nil, func(n ast.Node, stack []ast.Node) bool {
		if !ok {
			return false
		}
		var exprs []ast.Expr
		switch n := n.(type) {
		case *ast.BinaryExpr:
			// Count the outermost of nested + expressions only.
			if n.Op == token.ADD && !insideSum(stack) {
				exprs = []ast.Expr{n}
			}
		case *ast.ValueSpec:
			// A constant spec without values repeats the previous
			// expression; each repetition is a constant of its own.
			if len(n.Values) == 0 {
				for _, name := range n.Names {
					exprs = append(exprs, &ast.Ident{NamePos: name.Pos(), Name: name.Name})
				}
			}
		}
		for _, x := range exprs {
			size := e.size(x)
			total += size
			switch {
			case size > maxConstString:
				c.errorf(x.Pos(), "constant string too large (about %d bytes, limit %d)", size, maxConstString)
				ok = false
			case total > maxConstStringTotal:
				c.errorf(x.Pos(), "constant strings too large in total (about %d bytes, limit %d)", total, maxConstStringTotal)
				ok = false
			}
			if !ok {
				break
			}
		}
		return true
	})
	return ok
}

// insideSum reports whether the innermost non-parenthesis node of stack
// is a + expression.
func insideSum(stack []ast.Node) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *ast.ParenExpr:
			continue
		case *ast.BinaryExpr:
			return n.Op == token.ADD
		}
		return false
	}
	return false
}

// constSpec is the expression one constant name stands for.
type constSpec struct {
	value ast.Expr
}

// constSpecs maps each constant name in f to the expressions it may stand
// for. Scopes are ignored: a name declared twice maps to both, and the
// sizer takes the larger, so it can only over-estimate.
func constSpecs(f *ast.File) map[string][]constSpec {
	specs := map[string][]constSpec{}
	ast.Inspect(f, func(n ast.Node) bool {
		d, ok := n.(*ast.GenDecl)
		if !ok || d.Tok != token.CONST {
			return true
		}
		var last []ast.Expr
		for _, s := range d.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Values) > 0 {
				last = vs.Values
			}
			for i, name := range vs.Names {
				if i < len(last) {
					specs[name.Name] = append(specs[name.Name], constSpec{value: last[i]})
				}
			}
		}
		return true
	})
	return specs
}

// stringSizer over-estimates the length of the string an expression
// could fold to. Only + makes strings grow; other expressions count their
// literal text at most.
type stringSizer struct {
	consts   map[string][]constSpec
	memo     map[string]int
	visiting map[string]bool
}

func (s *stringSizer) size(e ast.Expr) int {
	switch e := e.(type) {
	case *ast.BasicLit:
		return len(e.Value)
	case *ast.ParenExpr:
		return s.size(e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return 0
		}
		return saturatingAdd(s.size(e.X), s.size(e.Y))
	case *ast.CallExpr:
		// Conversions: string(x), MyString(x).
		if len(e.Args) == 1 {
			return s.size(e.Args[0])
		}
		return 0
	case *ast.Ident:
		return s.identSize(e.Name)
	}
	return 0
}

func (s *stringSizer) identSize(name string) int {
	if n, ok := s.memo[name]; ok {
		return n
	}
	if s.visiting[name] {
		return 0 // a cycle: go/types and yaegi refuse it
	}
	s.visiting[name] = true
	n := 0
	for _, spec := range s.consts[name] {
		n = max(n, s.size(spec.value))
	}
	delete(s.visiting, name)
	s.memo[name] = n
	return n
}

func saturatingAdd(a, b int) int {
	if a > maxConstStringTotal || b > maxConstStringTotal {
		return maxConstStringTotal + 1
	}
	return a + b
}

// checkConstNumbers runs go/types over the file to find integer constants
// past 512 bits and shift counts past 1074, which it refuses (as the Go
// compiler does) and yaegi would compute. Imports are stand-ins holding
// only the packages' untyped constants, as yaegi has them; the errors that
// stand-ins cause (undefined: strings.ToUpper) are left for yaegi to
// judge.
func (c *checker) checkConstNumbers(f *ast.File) {
	conf := types.Config{
		Importer:                 constImporter{},
		DisableUnusedImportCheck: true,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok && isConstantLimit(te.Msg) {
				c.errorf(te.Pos, "%s", te.Msg)
			}
		},
	}
	_, _ = conf.Check("main", c.fset, []*ast.File{f}, nil)
}

// isConstantLimit reports whether a go/types message is one of its limits
// on constants ("constant multiplication overflow", "invalid shift count
// 2000"), as opposed to an error the stand-in imports cause.
func isConstantLimit(msg string) bool {
	return strings.HasPrefix(msg, "constant ") && strings.HasSuffix(msg, "overflow") ||
		strings.Contains(msg, "invalid shift count")
}

// constImporter makes stand-in packages holding the untyped constants
// yaegi knows for an allowed import.
type constImporter struct{}

func (constImporter) Import(importPath string) (*types.Package, error) {
	if _, ok := lookupImport(importPath); !ok {
		return nil, fmt.Errorf("import %q is not allowed", importPath)
	}
	pkg := types.NewPackage(importPath, path.Base(importPath))
	consts := map[string]constant.Value{}
	if importPath == sdkImportPath {
		consts["Version"] = constant.MakeString(sdk.Version)
	} else {
		for name, v := range stdsyms.Symbols[importPath+"/"+path.Base(importPath)] {
			if v.IsValid() && v.CanInterface() {
				if cv, ok := v.Interface().(constant.Value); ok {
					consts[name] = cv
				}
			}
		}
	}
	for name, cv := range consts {
		if typ := untypedType(cv); typ != nil {
			pkg.Scope().Insert(types.NewConst(token.NoPos, pkg, name, typ, cv))
		}
	}
	pkg.MarkComplete()
	return pkg, nil
}

// untypedType is the untyped basic type of a constant value.
func untypedType(v constant.Value) types.Type {
	switch v.Kind() {
	case constant.Bool:
		return types.Typ[types.UntypedBool]
	case constant.String:
		return types.Typ[types.UntypedString]
	case constant.Int:
		return types.Typ[types.UntypedInt]
	case constant.Float:
		return types.Typ[types.UntypedFloat]
	case constant.Complex:
		return types.Typ[types.UntypedComplex]
	}
	return nil
}
