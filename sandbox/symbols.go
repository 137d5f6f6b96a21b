package sandbox

import (
	"fmt"
	"go/constant"
	"io"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/traefik/yaegi/interp"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/sandbox/stdsyms"
)

// fmtExportKey registers fmt under import path "fmt" without the key
// "fmt/fmt". interp.Use treats a map holding "fmt/fmt" as "all of the
// stdlib is being loaded": it then compiles yaegi's generic sources (cmp,
// maps, slices: 2-4 ms per interpreter) and rewires fmt.Print* itself.
// path.Dir("fmt/./fmt") is "fmt" and path.Base is "fmt", so yaegi files
// the package exactly as it would "fmt/fmt"; we rewire fmt.Print* to the
// instance's output ourselves (redirectFmt).
const fmtExportKey = "fmt/./fmt"

// interpOutput is where one interpreter's output goes.
type interpOutput struct {
	// out receives fmt.Print*, print, println and picloud.Log.
	out io.Writer
	// traces receives yaegi's "L:C: panic: main.f(...)" lines.
	traces io.Writer
	// stopped is closed when the instance is stopped: time.Sleep returns
	// early then, so a sleeping script lets go of its goroutine at once.
	// nil (Check) never closes.
	stopped <-chan struct{}
	// call is where SDK v2's calls go (see sdkV2Symbols); nil in Check.
	call *sdk.Call
}

// newInterpreter builds a fresh interpreter that knows only the symbols of
// imports (already checked against the allowlist) and reads no source from
// disk.
func newInterpreter(imports []string, o interpOutput) (*interp.Interpreter, error) {
	i := interp.New(interp.Options{
		Stdin:  strings.NewReader(""),
		Stdout: o.out,
		Stderr: o.traces,
		Args:   []string{},
		// Env stays empty: no script can see the host's environment
		// (os is not importable anyway).
		Env: nil,
		// An import that is not in the symbol table would otherwise be
		// looked up as source on the real disk (GOPATH, vendor, relative
		// paths). Check refuses such imports; this is the second lock.
		SourcecodeFilesystem: emptyFS{},
		Unrestricted:         false,
	})
	exports, err := symbolTable(imports, o)
	if err != nil {
		return nil, err
	}
	if err := i.Use(exports); err != nil {
		return nil, fmt.Errorf("sandbox: load symbols: %w", err)
	}
	return i, nil
}

// symbolTable builds the symbols one script may use, from its imports
// only. It never hands yaegi a map shared with another interpreter or a
// host variable (see isolateVar).
func symbolTable(imports []string, o interpOutput) (interp.Exports, error) {
	out := o.out
	exports := interp.Exports{}
	for _, p := range imports {
		rule, ok := lookupImport(p)
		if !ok {
			return nil, fmt.Errorf("sandbox: import %q is not allowed", p)
		}
		if p == sdkImportPath {
			exports[sdkImportPath+"/"+sdkImportPath] = sdkSymbols(out, o.call)
			continue
		}
		key := p + "/" + path.Base(p)
		syms, ok := stdsyms.Symbols[key]
		if !ok {
			return nil, fmt.Errorf("sandbox: yaegi has no symbols for %q", p)
		}
		m := packageSymbols(syms, rule)
		switch p {
		case "fmt":
			redirectFmt(m, out)
			key = fmtExportKey
		case "time":
			m["Sleep"] = reflect.ValueOf(stoppableSleep(o.stopped))
		}
		exports[key] = m
	}
	exports["."] = map[string]reflect.Value{"MapTypes": reflect.ValueOf(mapTypes(exports))}
	return exports, nil
}

// packageSymbols copies one package's symbols, leaving out what rule
// withholds and replacing every variable by a private copy.
func packageSymbols(syms map[string]reflect.Value, rule importRule) map[string]reflect.Value {
	m := make(map[string]reflect.Value, len(syms))
	for name, v := range syms {
		if slices.Contains(rule.drop, name) {
			continue
		}
		if v.CanAddr() { // a package-level variable, not a func, type or constant
			if rule.dropVars {
				continue
			}
			c, ok := isolateVar(v)
			if !ok {
				continue
			}
			v = c
		}
		m[name] = v
	}
	return m
}

// isolateVar returns a per-interpreter copy of the host variable v, or
// false when no safe copy exists and the variable must be withheld.
//
// yaegi's stdlib symbols for variables are the host variables themselves
// (reflect.ValueOf(&time.UTC).Elem()): a script assigning
// `base64.StdEncoding = nil` would change what the whole process sees.
// So every variable becomes a fresh variable (reflect.New of its type) set
// to the host's value, and writes stay inside the interpreter:
//
//   - interface variables (io.EOF, strconv.ErrSyntax, crypto/rand.Reader)
//     are copied as they are: the dynamic values are host singletons of
//     unexported types without mutating methods, and sharing them keeps
//     `err == io.EOF` true for errors the host returns;
//   - pointers to structs or arrays whose exported parts hold no
//     references (base64.StdEncoding, time.UTC, time.Local) are copied one
//     level deep, so even a write through the pointer lands in the copy;
//   - plain values without exposed references are copied;
//   - anything else (unicode's tables: exported slices and maps) is
//     withheld.
//
// Writes through pointers the host hands out at run time (the *Location of
// time.Now().UTC().Location() is the host's time.UTC) cannot be copied
// here; Check refuses assignments through a pointer dereference for that.
func isolateVar(v reflect.Value) (reflect.Value, bool) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Interface || !exposesRefs(t):
		c := reflect.New(t).Elem()
		c.Set(v)
		return c, true
	case t.Kind() == reflect.Pointer && !v.IsNil() && !exposesRefs(t.Elem()):
		if loc, ok := v.Interface().(*time.Location); ok {
			_ = loc.String() // time.Local is set up lazily: do it before copying
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(v.Elem())
		c := reflect.New(t).Elem()
		c.Set(p)
		return c, true
	}
	return reflect.Value{}, false
}

// exposesRefs reports whether a script holding a value of type t could
// reach shared memory through it: a pointer, slice, map, chan, func or
// interface in t or in one of its exported fields. Unexported fields are
// out of a script's reach.
func exposesRefs(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return exposesRefs(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && exposesRefs(f.Type) {
				return true
			}
		}
		return false
	default:
		return true
	}
}

// redirectFmt points fmt.Print, Printf and Println at out (the instance's
// capped output). fmt.Fprint* to a writer the script made stays as is.
func redirectFmt(m map[string]reflect.Value, out io.Writer) {
	m["Print"] = reflect.ValueOf(func(a ...any) (int, error) { return fmt.Fprint(out, a...) })
	m["Printf"] = reflect.ValueOf(func(format string, a ...any) (int, error) { return fmt.Fprintf(out, format, a...) })
	m["Println"] = reflect.ValueOf(func(a ...any) (int, error) { return fmt.Fprintln(out, a...) })
}

// sdkSymbols is package picloud as scripts see it. Log is bound to out,
// the calling instance's output.
func sdkSymbols(out io.Writer, call *sdk.Call) map[string]reflect.Value {
	logf := func(args ...any) { _, _ = io.WriteString(out, fmt.Sprintln(args...)) }
	m := sdkV2Symbols(call)
	maps.Copy(m, map[string]reflect.Value{
		"Request":  reflect.ValueOf((*sdk.Request)(nil)),
		"Response": reflect.ValueOf((*sdk.Response)(nil)),
		"Header":   reflect.ValueOf((*sdk.Header)(nil)),
		"Cookie":   reflect.ValueOf((*sdk.Cookie)(nil)),
		"JSON":     reflect.ValueOf(sdk.JSON),
		"Text":     reflect.ValueOf(sdk.Text),
		"HTML":     reflect.ValueOf(sdk.HTML),
		"Redirect": reflect.ValueOf(sdk.Redirect),
		"Log":      reflect.ValueOf(logf),
		"Version":  reflect.ValueOf(constant.MakeString(sdk.Version)),
	})
	return m
}

// mapTypes tells yaegi which interfaces (fmt.Stringer, json.Marshaler,
// ...) to honour on script values passed to host functions taking any. It
// starts from yaegi's table and adds our fmt and Log replacements, which
// must behave like fmt.Println.
func mapTypes(exports interp.Exports) map[reflect.Value][]reflect.Type {
	mt := make(map[reflect.Value][]reflect.Type, len(stdsyms.MapTypes)+4)
	for k, v := range stdsyms.MapTypes {
		mt[k] = v
	}
	printer := stdsyms.MapTypes[reflect.ValueOf(fmt.Println)]
	if m := exports[fmtExportKey]; m != nil {
		for _, name := range []string{"Print", "Printf", "Println"} {
			mt[m[name]] = printer
		}
	}
	if m := exports[sdkImportPath+"/"+sdkImportPath]; m != nil {
		mt[m["Log"]] = printer
	}
	return mt
}

// emptyFS is a source filesystem with nothing in it, so yaegi never reads
// a script's imports from the host's disk.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
