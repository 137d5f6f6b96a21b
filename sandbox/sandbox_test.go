package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
)

// newInstance compiles source or fails the test; the instance is closed
// at cleanup.
func newInstance(t testing.TB, source string, opts Options) *Instance {
	t.Helper()
	in, err := New(context.Background(), source, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(in.Close)
	return in
}

// call runs source once on req and fails the test if the script panicked.
func call(t *testing.T, source string, req *sdk.Request) Result {
	t.Helper()
	res := newInstance(t, source, Options{}).Call(context.Background(), req)
	if res.Panic != nil || res.Err != nil {
		t.Fatalf("Call: panic %v, err %v", res.Panic, res.Err)
	}
	return res
}

// handler wraps body into a script importing imports and picloud.
func handler(imports, body string) string {
	return "package main\n\nimport (\n\t\"picloud\"\n\t" + imports + "\n)\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n" + body + "\n}\n"
}

const helloScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	name := req.QueryParam("name")
	if name == "" {
		name = "world"
	}
	picloud.Log("greeting", name)
	return picloud.JSON(200, map[string]any{"hello": name})
}
`

func TestCallHello(t *testing.T) {
	tests := []struct {
		name  string
		query url.Values
		want  string
	}{
		{"default", nil, `{"hello":"world"}`},
		{"query", url.Values{"name": {"ada"}}, `{"hello":"ada"}`},
	}
	in := newInstance(t, helloScript, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := in.Call(context.Background(), &sdk.Request{Method: "GET", Path: "/", Query: tt.query})
			if res.Panic != nil || res.Err != nil {
				t.Fatalf("panic %v, err %v", res.Panic, res.Err)
			}
			if res.Response.Status != 200 || string(res.Response.Body) != tt.want {
				t.Errorf("got %d %s, want 200 %s", res.Response.Status, res.Response.Body, tt.want)
			}
			if ct := res.Response.Headers["Content-Type"]; ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if res.Duration <= 0 {
				t.Errorf("Duration = %v", res.Duration)
			}
		})
	}
}

func TestCallTemplate(t *testing.T) {
	res := call(t, HelloWorld, &sdk.Request{Query: url.Values{"name": {"you"}}})
	if got := string(res.Response.Body); got != `{"hello":"you"}` {
		t.Errorf("body = %s", got)
	}
}

func TestCallSeesRequest(t *testing.T) {
	src := handler(`"strings"`, `
	return picloud.JSON(200, map[string]any{
		"method": req.Method, "path": req.Path, "host": req.Host,
		"id": req.Param("id"), "tenant": req.DomainParams["tenant"],
		"q": req.QueryParam("q"), "all": strings.Join(req.Query["q"], ","),
		"ua": req.Header("user-agent"), "raw": req.Headers["X-Custom"],
		"body": string(req.Body), "rid": req.RequestID, "app": req.App,
	})`)
	req := &sdk.Request{
		Method:       "POST",
		Path:         "/users/42",
		Host:         "acme.example.com",
		Params:       map[string]string{"id": "42"},
		DomainParams: map[string]string{"tenant": "acme"},
		Query:        url.Values{"q": {"a", "b"}},
		Headers:      map[string]string{"User-Agent": "test/1", "X-Custom": "yes"},
		Body:         []byte("payload"),
		RequestID:    "req-1",
		App:          "shop",
	}
	res := call(t, src, req)
	var got map[string]string
	if err := json.Unmarshal(res.Response.Body, &got); err != nil {
		t.Fatalf("body %s: %v", res.Response.Body, err)
	}
	want := map[string]string{
		"method": "POST", "path": "/users/42", "host": "acme.example.com", "id": "42", "tenant": "acme",
		"q": "a", "all": "a,b", "ua": "test/1", "raw": "yes", "body": "payload", "rid": "req-1", "app": "shop",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestCallCannotChangeCallersRequest(t *testing.T) {
	src := handler("", `
	req.Params["id"] = "changed"
	req.Headers["X-A"] = "changed"
	req.Query["q"][0] = "changed"
	req.Body[0] = 'X'
	return nil`)
	req := &sdk.Request{
		Params:  map[string]string{"id": "1"},
		Headers: map[string]string{"X-A": "a"},
		Query:   url.Values{"q": {"a"}},
		Body:    []byte("b"),
	}
	call(t, src, req)
	if req.Params["id"] != "1" || req.Headers["X-A"] != "a" || req.Query["q"][0] != "a" || string(req.Body) != "b" {
		t.Errorf("caller's request changed: %+v", req)
	}
}

func TestCallResponses(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantHeader [2]string
		wantBody   string
	}{
		{"json", `return picloud.JSON(201, []int{1, 2})`, 201, [2]string{"Content-Type", "application/json"}, `[1,2]`},
		{"json error", `return picloud.JSON(200, func() {})`, 500, [2]string{"Content-Type", "text/plain; charset=utf-8"}, "picloud.JSON: json: unsupported type: func()"},
		{"text", `return picloud.Text(418, "teapot")`, 418, [2]string{"Content-Type", "text/plain; charset=utf-8"}, "teapot"},
		{"html", `return picloud.HTML(200, "<b>hi</b>")`, 200, [2]string{"Content-Type", "text/html; charset=utf-8"}, "<b>hi</b>"},
		{"redirect", `return picloud.Redirect(301, "/new")`, 301, [2]string{"Location", "/new"}, ""},
		{"redirect bad status", `return picloud.Redirect(200, "/x")`, 302, [2]string{"Location", "/x"}, ""},
		{"nil is 204", `return nil`, 204, [2]string{}, ""},
		{"zero status is 200", `return &picloud.Response{Body: []byte("x"), Headers: map[string]string{"X": "y"}}`, 200, [2]string{"X", "y"}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, handler("", tt.body), nil)
			r := res.Response
			if r.Status != tt.wantStatus || string(r.Body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", r.Status, r.Body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantHeader[0] != "" && r.Headers[tt.wantHeader[0]] != tt.wantHeader[1] {
				t.Errorf("header %s = %q, want %q", tt.wantHeader[0], r.Headers[tt.wantHeader[0]], tt.wantHeader[1])
			}
		})
	}
}

func TestCallResponseIsACopy(t *testing.T) {
	// The script keeps its last response and changes it on the next call:
	// the previous Result must not change.
	src := `package main

import "picloud"

var last *picloud.Response

func Handle(req *picloud.Request) *picloud.Response {
	if last != nil {
		last.Body[0] = 'X'
		last.Headers["K"] = "changed"
	}
	last = &picloud.Response{Status: 200, Body: []byte("abc"), Headers: map[string]string{"K": "v"}}
	return last
}
`
	in := newInstance(t, src, Options{})
	first := in.Call(context.Background(), nil)
	in.Call(context.Background(), nil)
	if string(first.Response.Body) != "abc" || first.Response.Headers["K"] != "v" {
		t.Errorf("first response changed: %+v", first.Response)
	}

	// Lent, the Response is the script's own: the caller must be done
	// with it before the next call.
	lent := newInstance(t, src, Options{LendResponse: true})
	first = lent.Call(context.Background(), nil)
	if string(first.Response.Body) != "abc" || first.Response.Headers["K"] != "v" || first.Response.Status != 200 {
		t.Fatalf("lent response: %+v", first.Response)
	}
	lent.Call(context.Background(), nil)
	if string(first.Response.Body) != "Xbc" || first.Response.Headers["K"] != "changed" {
		t.Errorf("lent response %+v is a copy", first.Response)
	}
	if res := lent.Call(context.Background(), nil); res.Response.Status != 200 || string(res.Response.Body) != "abc" {
		t.Errorf("third lent response: %+v", res.Response)
	}
}

func TestCallCapturesOutput(t *testing.T) {
	src := handler(`"fmt"`, `
	fmt.Println("println", 1)
	fmt.Printf("printf %d\n", 2)
	fmt.Print("print\n")
	println("builtin", 3)
	print("builtin print\n")
	picloud.Log("log", 4, stringer{5})
	return nil
}

type stringer struct{ n int }

func (s stringer) String() string { return fmt.Sprintf("stringer(%d)", s.n)`)
	stdout, stderr := captureStdio(t)
	in := newInstance(t, src, Options{})
	res := in.Call(context.Background(), nil)
	if res.Panic != nil {
		t.Fatal(res.Panic)
	}
	want := "println 1\nprintf 2\nprint\nbuiltin 3\nbuiltin print\nlog 4 stringer(5)\n"
	if res.Output != want {
		t.Errorf("Output = %q, want %q", res.Output, want)
	}
	if got := stdout(); got != "" {
		t.Errorf("script wrote %q to os.Stdout", got)
	}
	if got := stderr(); got != "" {
		t.Errorf("script wrote %q to os.Stderr", got)
	}
	// Output is per call.
	if res := in.Call(context.Background(), nil); res.Output != want {
		t.Errorf("second Output = %q", res.Output)
	}
}

// captureStdio points os.Stdout and os.Stderr at pipes until the returned
// readers are called (or the test ends). Tests using it must not run in
// parallel.
func captureStdio(t *testing.T) (stdout, stderr func() string) {
	t.Helper()
	capture := func(f **os.File) func() string {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		orig := *f
		*f = w
		var got strings.Builder
		done := make(chan struct{})
		go func() { _, _ = io.Copy(&got, r); close(done) }()
		var once sync.Once
		read := func() string {
			once.Do(func() {
				*f = orig
				_ = w.Close()
				<-done
				_ = r.Close()
			})
			return got.String()
		}
		t.Cleanup(func() { read() })
		return read
	}
	return capture(&os.Stdout), capture(&os.Stderr)
}

func TestCallOutputCap(t *testing.T) {
	src := handler(`"strings"`, `
	for i := 0; i < 100; i++ {
		picloud.Log(strings.Repeat("x", 9))
	}
	return nil`)
	tests := []struct {
		name      string
		maxOutput int
		wantLen   int // of the kept output, before the marker
		truncated bool
	}{
		{"under the cap", 1000, 1000, false},
		{"over the cap", 95, 95, true},
		{"default cap", 0, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := newInstance(t, src, Options{MaxOutput: tt.maxOutput}).Call(context.Background(), nil)
			kept, truncated := strings.CutSuffix(res.Output, "\n"+truncatedMarker+"\n")
			if truncated != tt.truncated || len(kept) != tt.wantLen {
				t.Errorf("kept %d bytes (truncated %v), want %d (truncated %v): %q", len(kept), truncated, tt.wantLen, tt.truncated, res.Output)
			}
		})
	}
}

func TestCallPanic(t *testing.T) {
	src := `package main

import "picloud"

func divide(a, b int) int {
	return a / b
}

func Handle(req *picloud.Request) *picloud.Response {
	picloud.Log("before")
	return picloud.JSON(200, divide(1, len(req.Path)))
}
`
	in := newInstance(t, src, Options{})
	res := in.Call(context.Background(), &sdk.Request{Path: ""})
	var pe *PanicError
	if !errors.As(res.Panic, &pe) {
		t.Fatalf("Panic = %v, want *PanicError", res.Panic)
	}
	if !strings.Contains(pe.Value, "integer divide by zero") || pe.Line != 6 || pe.Func != "main.divide" {
		t.Errorf("Panic = %+v, want divide by zero at line 6 in main.divide", pe)
	}
	if res.Output != "before\n" {
		t.Errorf("Output = %q, want the output before the panic", res.Output)
	}
	// The owner discards a panicked instance; a new one works.
	res = newInstance(t, src, Options{}).Call(context.Background(), &sdk.Request{Path: "/"})
	if res.Panic != nil || string(res.Response.Body) != "1" {
		t.Errorf("new instance: panic %v, body %s", res.Panic, res.Response.Body)
	}
}

func TestCallPanicValues(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"string", `panic("boom")`, "boom"},
		{"error", `panic(errors.New("bad"))`, "bad"},
		{"nil map", `var m map[string]int; m["a"] = 1; return nil`, "assignment to entry in nil map"},
		{"index", `s := []int{}; _ = s[len(req.Path)+3]; return nil`, "index out of range"},
		{"must compile", `regexp.MustCompile("(")`, "missing closing )"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := handler(`"errors"; "regexp"`, "\t_ = errors.New\n\t_ = regexp.MustCompile\n\t"+tt.body+"\n\treturn nil")
			res := newInstance(t, src, Options{}).Call(context.Background(), &sdk.Request{})
			if res.Panic == nil || !strings.Contains(res.Panic.Error(), tt.want) {
				t.Errorf("Panic = %v, want it to mention %q", res.Panic, tt.want)
			}
		})
	}
}

func TestNewInitialisesVariables(t *testing.T) {
	src := `package main

import (
	"picloud"
	"regexp"
)

var slug = regexp.MustCompile("^[a-z]+$")

func Handle(req *picloud.Request) *picloud.Response {
	if !slug.MatchString(req.Param("name")) {
		return picloud.Text(400, "bad name")
	}
	return picloud.Text(200, "ok")
}
`
	in := newInstance(t, src, Options{})
	for name, want := range map[string]int{"abc": 200, "ABC": 400} {
		if got := in.Call(context.Background(), &sdk.Request{Params: map[string]string{"name": name}}).Response.Status; got != want {
			t.Errorf("%s: status %d, want %d", name, got, want)
		}
	}
}

func TestNewInitPanics(t *testing.T) {
	src := `package main

import (
	"picloud"
	"regexp"
)

var bad = regexp.MustCompile("(")

func Handle(req *picloud.Request) *picloud.Response { return nil }
`
	_, err := New(context.Background(), src, Options{})
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.Contains(pe.Value, "missing closing )") {
		t.Fatalf("New = %v, want a *PanicError", err)
	}
	// Check loads the script as an executor would: what fails at load is
	// refused at upload, with the line.
	err = Check(context.Background(), src)
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Line != 8 || ce.Column != 11 || !strings.Contains(ce.Message, "panics: regexp: Compile") {
		t.Errorf("Check = %v, want the panic at line 8, column 11", err)
	}
}

func TestCallContextAndClose(t *testing.T) {
	in := newInstance(t, helloScript, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := in.Call(ctx, nil); !errors.Is(res.Err, context.Canceled) || res.Output != "" {
		t.Errorf("cancelled call: %+v", res)
	}
	if res := in.Call(context.Background(), nil); res.Err != nil || res.Response.Status != 200 {
		t.Errorf("call after a cancelled one: %+v", res)
	}
	in.Close()
	if res := in.Call(context.Background(), nil); !errors.Is(res.Err, ErrClosed) {
		t.Errorf("call after Close: %+v", res)
	}
	if _, err := New(ctx, helloScript, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a cancelled ctx = %v", err)
	}
}

func TestInstancesAreIndependent(t *testing.T) {
	// Run under -race: instances share no state, and each one's output
	// and globals are its own.
	src := `package main

import (
	"fmt"
	"picloud"
)

var calls int

func Handle(req *picloud.Request) *picloud.Response {
	calls++
	fmt.Println(req.App, calls)
	return picloud.Text(200, fmt.Sprint(calls))
}
`
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			in, err := New(context.Background(), src, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			defer in.Close()
			app := fmt.Sprint("app", i)
			for n := 1; n <= 20; n++ {
				res := in.Call(context.Background(), &sdk.Request{App: app})
				if want := fmt.Sprintln(app, n); res.Output != want || string(res.Response.Body) != fmt.Sprint(n) {
					t.Errorf("instance %d call %d: output %q body %s", i, n, res.Output, res.Response.Body)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewCancelsLongInit(t *testing.T) {
	src := `package main

import "picloud"

var ready = spin()

func spin() bool {
	for {
	}
}

func Handle(req *picloud.Request) *picloud.Response { return nil }
`
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := New(ctx, src, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("New = %v, want the deadline", err)
	}
	// The spinning initialiser is stopped, not left running.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running, %d before New", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCallStopsHostileScripts(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"busy loop", `for { }`},
		// Run under -race: nothing reads the globals while a stopped call
		// unwinds.
		{"busy loop writing a global", `for { hits++ }`},
		{"sleep past the budget", `time.Sleep(time.Hour)`},
		{"deadlock on a channel", `ch := make(chan int); <-ch`},
		{"send nobody receives", `ch := make(chan int); ch <- 1`},
		{"select with no ready case", `ch := make(chan int); select { case <-ch: case <-time.After(time.Hour): }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package main\n\nimport (\n\t\"picloud\"\n\t\"time\"\n)\n\nvar _ = time.Second\n\nvar hits int\n\n" +
				"func Handle(req *picloud.Request) *picloud.Response {\n\t" + tt.body + "\n\treturn picloud.Text(200, \"done\")\n}\n"
			stopsWithin(t, newInstance(t, src, Options{}))
		})
	}
}

// TestCallStopsClosuresMadeAtLoad runs the waits of
// TestCallStopsHostileScripts in closures made while the script was
// loaded (package-level variables), whose frames yaegi made before the
// stop switch was armed.
func TestCallStopsClosuresMadeAtLoad(t *testing.T) {
	tests := []struct {
		name string
		decl string
	}{
		{"receive", `var wait = func() { ch := make(chan int); <-ch }`},
		{"send", `var wait = func() { ch := make(chan int); ch <- 1 }`},
		{"select", `var wait = func() { ch := make(chan int); select { case <-ch: case <-time.After(time.Hour): } }`},
		{"range", `var wait = func() { for range make(chan int) { } }`},
		{"returned by a function", `var wait = waiter()

func waiter() func() { ch := make(chan int); return func() { <-ch } }`},
		{"in a map", `var waits = map[string]func(){"x": func() { <-make(chan int) }}

var wait = func() { waits["x"]() }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package main\n\nimport (\n\t\"picloud\"\n\t\"time\"\n)\n\nvar _ = time.Second\n\n" + tt.decl + "\n\n" +
				"func Handle(req *picloud.Request) *picloud.Response {\n\twait()\n\treturn picloud.Text(200, \"done\")\n}\n"
			stopsWithin(t, newInstance(t, src, Options{}))
		})
	}
}

// stopsWithin calls in with a short deadline and checks that the call
// ends with it, closes the instance and leaves nothing running.
func stopsWithin(t *testing.T, in *Instance) {
	t.Helper()
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan Result, 1)
	go func() { done <- in.Call(ctx, nil) }()
	var res Result
	select {
	case res = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the call was not stopped at its deadline")
	}
	if !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("Call = %+v, want the deadline", res)
	}
	if res := in.Call(context.Background(), nil); !errors.Is(res.Err, ErrClosed) {
		t.Errorf("call after a stopped one: %+v, want ErrClosed", res)
	}
	// Nothing of the stopped call keeps running.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() >= before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running, %d before the call", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestResponseTooLarge(t *testing.T) {
	src := `package main

import (
	"picloud"
	"strings"
)

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, strings.Repeat("x", len(req.Body)))
}
`
	in := newInstance(t, src, Options{MaxResponseBody: 1000})
	res := in.Call(context.Background(), &sdk.Request{Body: make([]byte, 2000)})
	if !errors.Is(res.Err, ErrResponseTooLarge) {
		t.Fatalf("big response: %+v, want ErrResponseTooLarge", res.Err)
	}
	res = in.Call(context.Background(), &sdk.Request{Body: make([]byte, 10)})
	if res.Err != nil || string(res.Response.Body) != "xxxxxxxxxx" {
		t.Errorf("small response after a big one: %+v", res)
	}
}

// TestCallUnderOneContext: calls sharing one context (an executor's or a
// worker's instance context, a Host per call on top) share one watch on
// it. Its end during a call stops that call, even after calls that ended
// well; its end between calls refuses the next call under it and stops
// no call under another context.
func TestCallUnderOneContext(t *testing.T) {
	src := handler(`"time"`, `
	if req.QueryParam("wait") != "" {
		time.Sleep(time.Hour)
	}
	return picloud.Text(200, "ok")`)
	wait := &sdk.Request{Query: url.Values{"wait": {"1"}}}

	t.Run("end between calls", func(t *testing.T) {
		in := newInstance(t, src, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		for i := range 3 {
			if res := in.Call(sdk.WithHost(ctx, nil), nil); res.Err != nil || res.Response.Status != 200 {
				t.Fatalf("call %d: %+v", i, res)
			}
		}
		cancel()
		if res := in.Call(sdk.WithHost(ctx, nil), nil); !errors.Is(res.Err, context.Canceled) {
			t.Errorf("call under the ended context: %+v", res)
		}
		if res := in.Call(context.Background(), nil); res.Err != nil || res.Response.Status != 200 {
			t.Errorf("call under another context after the first ended: %+v", res)
		}
		other, cancelOther := context.WithCancel(context.Background())
		defer cancelOther()
		if res := in.Call(other, nil); res.Err != nil || res.Response.Status != 200 {
			t.Errorf("call under a third context: %+v", res)
		}
	})
	t.Run("end during a call", func(t *testing.T) {
		in := newInstance(t, src, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for i := range 3 {
			if res := in.Call(sdk.WithHost(ctx, nil), nil); res.Err != nil {
				t.Fatalf("call %d: %+v", i, res)
			}
		}
		done := make(chan Result, 1)
		go func() { done <- in.Call(sdk.WithHost(ctx, nil), wait) }()
		time.Sleep(20 * time.Millisecond) // let it sleep; stopped either way
		cancel()
		select {
		case res := <-done:
			if !errors.Is(res.Err, context.Canceled) {
				t.Fatalf("stopped call: %+v", res)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the call was not stopped when its context ended")
		}
		if res := in.Call(context.Background(), nil); !errors.Is(res.Err, ErrClosed) {
			t.Errorf("call after a stopped one: %+v, want ErrClosed", res)
		}
	})
}
