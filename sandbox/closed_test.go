package sandbox

import (
	"context"
	"errors"
	"go/constant"
	"io"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/sandbox/stdsyms"
)

// TestAllowlistIsClosed walks every symbol the allowlist exposes to
// scripts (functions' parameters and results, types, exported and
// embedded struct fields, method sets, variables), transitively through
// pointers, slices, arrays, maps, channels, funcs and interfaces, and
// fails for every path that reaches a type of a package scripts may not
// import: a reflect.Type in an error's field is all a script needs to
// reach reflect.Value.Set, and through it any memory of its process.
func TestAllowlistIsClosed(t *testing.T) {
	exports, err := symbolTable(AllowedImports(), interpOutput{out: io.Discard, traces: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	w := newClosureWalker()
	keys := make([]string, 0, len(exports))
	for key := range exports {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if key == "." {
			continue // yaegi's MapTypes, no script symbol
		}
		pkg := path.Dir(key)
		names := make([]string, 0, len(exports[key]))
		for name := range exports[key] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			w.symbol(pkg+"."+name, exports[key][name])
		}
	}
	if w.symbols < 500 {
		t.Errorf("walked only %d symbols: is the table empty?", w.symbols)
	}
	for _, leak := range w.leaks {
		t.Errorf("a script reaches %s", leak)
	}
	t.Logf("walked %d symbols and %d types", w.symbols, len(w.seen))
}

// closureWalker finds the types reachable from symbols that belong to a
// package outside the allowlist.
type closureWalker struct {
	allowed map[string]bool
	seen    map[reflect.Type]bool
	leaks   []string
	symbols int
}

func newClosureWalker() *closureWalker {
	w := &closureWalker{allowed: map[string]bool{}, seen: map[reflect.Type]bool{}}
	for _, p := range AllowedImports() {
		w.allowed[p] = true
	}
	w.allowed[reflect.TypeFor[sdk.Request]().PkgPath()] = true
	// The wrappers yaegi passes script values in where a host interface
	// is expected (io._Reader, ...): structs of the interface's methods.
	// They are walked like any other type.
	w.allowed[stdsyms.Symbols["io/io"]["_Reader"].Type().Elem().PkgPath()] = true
	return w
}

func (w *closureWalker) symbol(name string, v reflect.Value) {
	w.symbols++
	if !v.IsValid() {
		return
	}
	if _, ok := v.Interface().(constant.Value); ok && !v.CanAddr() {
		return // an untyped constant
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer && !v.CanAddr() && v.IsNil() {
		t = t.Elem() // a type: yaegi lists (*T)(nil)
	}
	w.walk(name, t)
}

func (w *closureWalker) walk(path string, t reflect.Type) {
	if p := t.PkgPath(); p != "" && !w.allowed[p] {
		// Every path into a withheld package is reported (and cut), not
		// just the first one found.
		w.leaks = append(w.leaks, path+" of type "+t.String()+" (package "+p+")")
		return
	}
	if w.seen[t] {
		return
	}
	w.seen[t] = true
	w.methods(path, t)
	if t.Name() != "" && t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer {
		w.methods(path, reflect.PointerTo(t))
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(path, t.Elem())
	case reflect.Slice, reflect.Array:
		w.walk(path+"[i]", t.Elem())
	case reflect.Chan:
		w.walk("<-"+path, t.Elem())
	case reflect.Map:
		w.walk(path+" key", t.Key())
		w.walk(path+"[k]", t.Elem())
	case reflect.Func:
		for i := range t.NumIn() {
			w.walk(path+" parameter "+itoa(i+1), t.In(i))
		}
		for i := range t.NumOut() {
			w.walk(path+" result "+itoa(i+1), t.Out(i))
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() || f.Anonymous {
				w.walk(path+"."+f.Name, f.Type)
			}
		}
	}
}

// methods walks the exported methods of t (for an interface, its method
// set), without the receiver.
func (w *closureWalker) methods(path string, t reflect.Type) {
	for i := range t.NumMethod() {
		m := t.Method(i)
		ft := m.Type
		in := make([]reflect.Type, 0, ft.NumIn())
		for j := range ft.NumIn() {
			if j == 0 && t.Kind() != reflect.Interface {
				continue // the receiver
			}
			in = append(in, ft.In(j))
		}
		out := make([]reflect.Type, 0, ft.NumOut())
		for j := range ft.NumOut() {
			out = append(out, ft.Out(j))
		}
		w.walk(path+"."+m.Name+"()", reflect.FuncOf(in, out, ft.IsVariadic()))
	}
}

func itoa(i int) string { return strings.TrimLeft(string(rune('0'+i/10))+string(rune('0'+i%10)), "0") }

// TestReflectIsUnreachable runs the exploits that reached reflect through
// encoding/json's error types and rewrote host memory with it: what
// time.Local, time.UTC and io.EOF point to, for every script of the
// process. Each is refused at upload, and the host's values stay as they
// were.
func TestReflectIsUnreachable(t *testing.T) {
	savedLocal, savedUTC := *time.Local, *time.UTC
	eof := reflect.ValueOf(io.EOF).Elem()
	savedEOF := reflect.New(eof.Type()).Elem()
	savedEOF.Set(eof)
	// repair undoes what an exploit that worked broke, for the next one
	// and the other tests.
	repair := func() {
		*time.Local, *time.UTC = savedLocal, savedUTC
		eof.Set(savedEOF)
	}
	t.Cleanup(repair)
	// overwrite rewrites what the value under key "target" points to with
	// the value under "with", through the reflect.Value of
	// json.UnsupportedValueError (the map is a cycle json refuses).
	overwrite := func(imports, target, with string) string {
		return handler(`"encoding/json"
	"errors"
	`+imports, `	m := map[string]any{"target": `+target+`, "with": `+with+`}
	m["self"] = m
	_, err := json.Marshal(m)
	var uve *json.UnsupportedValueError
	if !errors.As(err, &uve) {
		return picloud.Text(500, "no reflect.Value")
	}
	v := uve.Value
	keys := v.MapKeys()
	i, j := 0, 0
	for n, k := range keys {
		switch k.String() {
		case "target":
			i = n
		case "with":
			j = n
		}
	}
	v.MapIndex(keys[i]).Elem().Elem().Set(v.MapIndex(keys[j]).Elem().Elem())
	return picloud.Text(200, "overwritten")`)
	}
	tests := []struct {
		name, source, refused string
	}{
		{"json.UnmarshalTypeError.Type", handler(`"encoding/json"
	"errors"`, `	err := json.Unmarshal([]byte(`+"`\"x\"`"+`), new(int))
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) {
		return picloud.Text(500, "no reflect.Type")
	}
	return picloud.Text(200, ute.Type.String()+" of package "+ute.Type.PkgPath())`), "UnmarshalTypeError"},
		{"time.Local", overwrite(`"time"`, "time.Now().Location()", `time.FixedZone("Evil", 3600)`), "UnsupportedValueError"},
		{"time.UTC", overwrite(`"time"`, "time.Now().UTC().Location()", `time.FixedZone("Evil", 3600)`), "UnsupportedValueError"},
		{"io.EOF", overwrite(`"io"`, "io.EOF", `errors.New("evil")`), "UnsupportedValueError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(context.Background(), tt.source)
			var ce *CompileError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, tt.refused) {
				t.Errorf("Check = %v, want %s refused", err, tt.refused)
			}
			if in, err := New(context.Background(), tt.source, Options{}); err == nil {
				res := in.Call(context.Background(), nil)
				in.Close()
				t.Logf("the exploit ran: %d %s %v", res.Response.Status, res.Response.Body, res.Panic)
			}
			if time.Local.String() != "Local" || time.UTC.String() != "UTC" || io.EOF.Error() != "EOF" {
				t.Errorf("host variables changed: time.Local %q, time.UTC %q, io.EOF %q", time.Local, time.UTC, io.EOF)
				repair()
			}
		})
	}
}
