package sandbox

import (
	"go/ast"
	"go/types"
)

// checkGenericLiterals refuses what yaegi v0.16.1 compiles and then
// cannot run: a composite literal of a generic type with several type
// arguments (P[string, int]{...}) written as an element of a slice, array
// or map literal. yaegi accepts it, then fails with a nil dereference
// while it prepares the function to run: the script would fail at every
// load, with no line. The same literal in parentheses, in a struct
// literal or in a variable works.
func (c *checker) checkGenericLiterals(f *ast.File) {
	var suspects []*ast.CompositeLit // outer literals holding such an element
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.CompositeLit); ok && len(genericElements(lit)) > 0 {
			suspects = append(suspects, lit)
		}
		return true
	})
	if len(suspects) == 0 {
		return // the usual case: no go/types pass
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: constImporter{}, DisableUnusedImportCheck: true, Error: func(error) {}}
	_, _ = conf.Check("main", c.fset, []*ast.File{f}, info)
	for _, lit := range suspects {
		// Struct literals are fine. A literal go/types cannot type (its
		// type comes from an import, which the stand-ins lack) is
		// refused too: the way round is easy.
		if tv, ok := info.Types[lit]; ok && tv.Type != nil {
			if _, isStruct := tv.Type.Underlying().(*types.Struct); isStruct {
				continue
			}
		}
		for _, e := range genericElements(lit) {
			t := types.ExprString(e.Type)
			c.errorf(e.Pos(), "the interpreter cannot run %s{...} as an element of a slice, array or map literal "+
				"(a generic type with several type arguments): write (%s{...}) in parentheses, or assign it to a variable first", t, t)
		}
	}
}

// genericElements returns the elements of lit (values of key: value
// pairs included) that are composite literals of a type with several type
// arguments.
func genericElements(lit *ast.CompositeLit) []*ast.CompositeLit {
	var out []*ast.CompositeLit
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			e = kv.Value
		}
		if inner, ok := e.(*ast.CompositeLit); ok {
			if _, generic := inner.Type.(*ast.IndexListExpr); generic {
				out = append(out, inner)
			}
		}
	}
	return out
}
