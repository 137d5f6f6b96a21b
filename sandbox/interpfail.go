package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"

	"github.com/traefik/yaegi/interp"
)

// genRunFrame and genGlobalVarsFrame are the yaegi functions that turn a compiled script into
// the closures that run it: its functions (genRun) and its package-level
// variables (genGlobalVars). A panic inside them is the interpreter
// failing on a source it accepted, before that code ran: a compile error
// in all but name, and yaegi gives it no position.
const (
	genRunFrame        = "github.com/traefik/yaegi/interp.genRun("
	genGlobalVarsFrame = "github.com/traefik/yaegi/interp.genGlobalVars("
)

// interpreterFailure is a source yaegi compiled but could not prepare to
// run (see genRunFrame).
type interpreterFailure struct {
	value string
}

func (e *interpreterFailure) Error() string {
	return "the interpreter cannot run this script: " + e.value
}

// asInterpreterFailure returns the failure p is, if it is one.
func asInterpreterFailure(p interp.Panic) (*interpreterFailure, bool) {
	if !bytes.Contains(p.Stack, []byte(genRunFrame)) && !bytes.Contains(p.Stack, []byte(genGlobalVarsFrame)) {
		return nil, false
	}
	return &interpreterFailure{value: formatPanicValue(p.Value)}, true
}

// locateFailure turns f into a *CompileError at the function of source
// the interpreter fails on. It finds it by loading source again with
// function bodies replaced by panic(0): the culprit is the first function
// that, kept as written with every later one replaced, brings the failure
// back. That takes a few loads (a binary search), on a source that was
// already refused. Without a culprit among the functions (the failure is
// in a package-level declaration), the error is at line 1.
func locateFailure(ctx context.Context, s *script, source string, f *interpreterFailure) *CompileError {
	refused := &CompileError{Line: 1, Column: 1, Message: f.Error()}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, scriptName, source, parser.SkipObjectResolution)
	if err != nil {
		return refused
	}
	var funcs []*ast.FuncDecl
	for _, d := range file.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
			funcs = append(funcs, fn)
		}
	}
	// fails(k) reports whether the failure remains with the bodies of
	// funcs[k:] replaced. fails(len(funcs)) is known to be true.
	fails := func(k int) bool {
		src := neutralised(fset, source, funcs[k:])
		in, err := build(ctx, s, src, Options{})
		if err == nil {
			in.Close()
		}
		var again *interpreterFailure
		return errors.As(err, &again)
	}
	if len(funcs) == 0 || ctx.Err() != nil || fails(0) {
		return refused
	}
	lo, hi := 0, len(funcs) // fails(lo) is false, fails(hi) true
	for hi-lo > 1 && ctx.Err() == nil {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if ctx.Err() != nil {
		return refused
	}
	culprit := funcs[hi-1]
	p := fset.Position(culprit.Name.Pos())
	return &CompileError{Line: p.Line, Column: p.Column, Message: fmt.Sprintf(
		"the interpreter cannot run func %s (%s): it accepts something in it that it cannot run yet; try writing it differently",
		culprit.Name.Name, f.value)}
}

// neutralised is source with the bodies of funcs replaced by panic(0),
// keeping every line where it was.
func neutralised(fset *token.FileSet, source string, funcs []*ast.FuncDecl) string {
	var b strings.Builder
	last := 0
	for _, fn := range funcs {
		open := fset.Position(fn.Body.Lbrace).Offset + 1
		end := fset.Position(fn.Body.Rbrace).Offset
		b.WriteString(source[last:open])
		b.WriteString(" panic(0)")
		b.WriteString(strings.Repeat("\n", strings.Count(source[open:end], "\n")))
		last = end
	}
	b.WriteString(source[last:])
	return b.String()
}
