package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hostileBudget is the time budget of the hostile app: short, so the
// suite runs fast.
const hostileBudget = 300 * time.Millisecond

// budgetBound is how soon an overrun must be answered. The bound
// is budget + 250 ms; the check allows a loaded two-core CI machine more.
const budgetBound = hostileBudget + time.Second

// witness runs in another app and reads the package variables hostile
// scripts try to tamper with: they must look as they always do.
const witness = `package main

import (
	"encoding/base64"
	"picloud"
	"time"
)

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(200, map[string]any{
		"b64": base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}),
		"utc": time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339),
	})
}
`

// hostile wraps a handler body in a script importing imports.
func hostile(imports, body string) string {
	return "package main\n\nimport (\n" + imports + "\t\"picloud\"\n)\n\n" +
		"func Handle(req *picloud.Request) *picloud.Response {\n" + body + "\n}\n"
}

// refused is a script that imports path on line 4.
func refused(path, use string) string {
	return "package main\n\nimport (\n\t\"" + path + "\"\n\t\"picloud\"\n)\n\nvar _ = " + use +
		"\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n"
}

// hostileCase is one hostile script: refused at upload (upload 422), or
// deployed at /<name> and called with body.
type hostileCase struct {
	name   string
	source string
	upload int
	// body is sent with the call (POST when set).
	body string
	// declared, when set, is a body size announced in Content-Length but
	// never sent: the server must refuse on the header alone. (Sending a
	// body that big races the server's close after its 413 and can end
	// in a connection reset before the client reads the answer.)
	declared int
	status   int
	want     []string
	// logged, when set, must show in the invocation's record.
	logged string
}

func hostileCases() []hostileCase {
	refuse := func(name, path, use string) hostileCase {
		return hostileCase{name: name, source: refused(path, use), upload: 422,
			want: []string{`import \"` + path + `\" is not allowed`, `"line":4`}}
	}
	return []hostileCase{
		// Time: stopped at the budget, answered 504.
		{name: "busy-loop", source: hostile("", "\tfor {\n\t}"), upload: 201, status: 504, want: []string{`"code":"script_timeout"`}},
		{name: "sleep-past-budget", source: hostile("\t\"time\"\n", "\ttime.Sleep(time.Hour)\n\treturn nil"), upload: 201,
			status: 504, want: []string{`"code":"script_timeout"`}},
		{name: "deadlock", source: hostile("", "\tch := make(chan int)\n\t<-ch\n\treturn nil"), upload: 201,
			status: 504, want: []string{`"code":"script_timeout"`}},
		// Invented: a select with no cases blocks for ever, too.
		{name: "empty-select", source: hostile("", "\tselect {}"), upload: 201, status: 504, want: []string{`"code":"script_timeout"`}},
		{name: "panic", source: hostile("", "\tpanic(\"boom\")"), upload: 201, status: 500,
			want: []string{`"code":"script_panic"`, "boom"}},
		// Invented: a runtime panic rather than a call of panic.
		{name: "nil-map-write", source: hostile("", "\tvar m map[string]int\n\tm[\"x\"] = 1\n\treturn nil"), upload: 201, status: 500,
			want: []string{`"code":"script_panic"`, "assignment to entry in nil map"}},

		// Constructs yaegi cannot forbid, refused before it sees them.
		{name: "go-statement", source: hostile("", "\tgo func() {}()\n\treturn nil"), upload: 422,
			want: []string{"go statements are not allowed", `"line":8`}},
		{name: "init", source: "package main\n\nimport \"picloud\"\n\nfunc init() {}\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n",
			upload: 422, want: []string{"func init is not allowed", `"line":5`}},
		{name: "linkname", source: "package main\n\nimport \"picloud\"\n\n//go:linkname now time.now\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n",
			upload: 422, want: []string{"//go:linkname is not allowed", `"line":5`}},
		{name: "cgo", source: refused("C", "0"), upload: 422, want: []string{`cgo (import \"C\") is not allowed`, `"line":4`}},

		// Imports that reach the host.
		refuse("import-os", "os", "os.Args"),
		refuse("import-os-exec", "os/exec", "exec.Command"),
		refuse("import-net", "net", "net.Dial"),
		refuse("import-unsafe", "unsafe", "unsafe.Pointer(nil)"),
		refuse("import-reflect", "reflect", "reflect.TypeOf"),
		refuse("import-syscall", "syscall", "syscall.Getenv"),
		refuse("import-runtime", "runtime", "runtime.GC"),
		refuse("import-net-http", "net/http", "http.Get"),

		// Environment and files through any package: none offers them.
		refuse("env-through-os", "os", `os.Getenv("HOME")`),
		refuse("file-through-ioutil", "io/ioutil", `ioutil.ReadFile`),
		refuse("file-through-filepath", "path/filepath", `filepath.Glob`),
		refuse("file-through-template", "text/template", `template.ParseFiles`),
		{name: "stdin-through-fmt", source: hostile("\t\"fmt\"\n", "\tvar s string\n\tfmt.Scanln(&s)\n\treturn nil"), upload: 422,
			want: []string{`"line":10`, "Scanln"}},
		{name: "file-through-time", source: hostile("\t\"time\"\n", "\t_, err := time.LoadLocation(\"../../etc/passwd\")\n\treturn picloud.Text(200, err.Error())"),
			upload: 422, want: []string{"has no symbol LoadLocation", `"line":9`}},
		{name: "embed-a-file", source: "package main\n\nimport \"picloud\"\n\n//go:embed /etc/passwd\nvar secret string\n\nfunc Handle(req *picloud.Request) *picloud.Response { return nil }\n",
			upload: 422, want: []string{"//go:embed is not allowed", `"line":5`}},
		{name: "import-from-disk", source: refused("github.com/picloud/picloud/models", "0"), upload: 422,
			want: []string{`is not allowed`, `"line":4`}},

		// Package variables: each interpreter has its own copy.
		{name: "tamper-package-vars", source: hostile("\t\"encoding/base64\"\n\t\"time\"\n",
			"\tbase64.StdEncoding = base64.URLEncoding\n\ttime.UTC = time.FixedZone(\"X\", 3600)\n"+
				"\treturn picloud.Text(200, base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff}))"),
			upload: 201, status: 200, want: []string{"-_8="}},
		{name: "tamper-through-pointer", source: hostile("\t\"time\"\n", "\t*time.UTC = *time.FixedZone(\"X\", 3600)\n\treturn nil"),
			upload: 422, want: []string{"assignment through a pointer dereference", `"line":9`}},

		// Sizes.
		{name: "huge-response", source: hostile("\t\"strings\"\n", "\treturn picloud.Text(200, strings.Repeat(\"x\", 8<<20))"),
			upload: 201, status: 500, want: []string{`"code":"response_too_large"`}},
		{name: "huge-request-app-limit", source: hostile("", "\treturn picloud.Text(200, \"read\")"), upload: 201,
			body: strings.Repeat("x", 100<<10), status: 413, want: []string{`"code":"body_too_large"`}},
		{name: "huge-request-server-limit", source: hostile("", "\treturn picloud.Text(200, \"read\")"), upload: 201,
			declared: 2 << 20, status: 413, want: []string{`"code":"body_too_large"`}},
		// Invented: an output flood (about 125KiB, twice max_output, and
		// quick enough for the 300ms budget on a loaded race build) is cut
		// at max_output; the call succeeds.
		{name: "output-flood", source: hostile("\t\"fmt\"\n", "\tfor i := 0; i < 5000; i++ {\n\t\tfmt.Println(\"spam spam spam spam\", i)\n\t}\n\treturn picloud.Text(200, \"flooded\")"),
			upload: 201, status: 200, want: []string{"flooded"}, logged: "[output truncated]"},
	}
}

// TestHostileScripts runs each hostile script against the real binary
// and checks after each that the server and a well-behaved script in
// another app answer at once, and that nothing leaked into them.
func TestHostileScripts(t *testing.T) {
	// The panic text is what these cases check: shown publicly (server.public_errors).
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_PUBLIC_ERRORS=true")
	expect(t, "create hostile app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "hostile"}), 201)
	expect(t, "hostile app limits", s.do("PATCH", adminAPI+"/apps/hostile", map[string]any{
		"settings": map[string]any{"timeout_ms": hostileBudget.Milliseconds(), "max_request_body": 64 << 10}}), 200)
	expect(t, "create good app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "good"}), 201)
	witnessID := s.deploy(t, "good", "witness", witness, "/")
	good := func(t *testing.T) {
		t.Helper()
		// A new version of the witness gets a new interpreter, whose copies
		// of the package variables are taken from the server's now.
		expect(t, "redeploy witness", s.do("PUT", fmt.Sprintf("%s/scripts/%d", adminAPI, witnessID),
			map[string]string{"source": witness + "\n// after " + t.Name() + "\n"}), 200)
		start := time.Now()
		expect(t, "healthz", s.do("GET", "/healthz", nil), 200, "ok")
		expect(t, "good app", s.do("GET", "/", nil, "Host", "good.localhost"), 200, `"b64":"+/8="`, `"utc":"2020-01-01T00:00:00Z"`)
		if d := time.Since(start); d > time.Second {
			t.Errorf("the server took %s to answer after the hostile script", d)
		}
	}

	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do("POST", adminAPI+"/apps/hostile/scripts", map[string]string{"name": tc.name, "source": tc.source})
			if tc.upload != 201 {
				expect(t, "upload", r, tc.upload, tc.want...)
				good(t)
				return
			}
			expect(t, "upload", r, 201)
			id := int64(r.json(t)["id"].(float64))
			expect(t, "route", s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id),
				map[string]string{"method": "ANY", "path": "/" + tc.name}), 201)

			method, body := "GET", any(nil)
			if tc.body != "" {
				method, body = "POST", tc.body
			}
			start := time.Now()
			if tc.declared > 0 {
				r = announce(t, s, "/"+tc.name, "hostile.localhost", tc.declared)
			} else {
				r = s.do(method, "/"+tc.name, body, "Host", "hostile.localhost")
			}
			elapsed := time.Since(start)
			expect(t, "call", r, tc.status, tc.want...)
			if tc.status == 504 && elapsed > budgetBound {
				t.Errorf("504 after %s, want within %s", elapsed, budgetBound)
			}
			if tc.status >= 400 && r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("error with Content-Type %q, want JSON", r.Header.Get("Content-Type"))
			}
			if tc.logged != "" {
				// Invocation records are written in batches, off the
				// request's path.
				url := fmt.Sprintf("%s/invocations?script=%d&limit=1", adminAPI, id)
				eventually(t, 10*time.Second, "the invocation record", func() bool {
					return strings.Contains(string(s.do("GET", url, nil).Body), tc.logged)
				})
			}
			good(t)
		})
	}
}

// TestCrashLoopIsParked crashes a script until it is parked, checks the
// 503 and the admin status, and that a new version serves again.
func TestCrashLoopIsParked(t *testing.T) {
	// Public errors on: the test reads the limit that applied from the
	// answer (callers see only the code by default; TestErrorPrivacy).
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_PUBLIC_ERRORS=true")
	expect(t, "create app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "crashy"}), 201)
	expect(t, "create good app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "good"}), 201)
	s.deploy(t, "good", "witness", witness, "/")
	id := s.deploy(t, "crashy", "crash", hostile("", "\tpanic(\"again\")"), "/")
	call := func() response { return s.do("GET", "/", nil, "Host", "crashy.localhost") }

	// config.hcl's default: parked after more than 5 crashes in a minute.
	for i := range 6 {
		expect(t, fmt.Sprintf("crash %d", i+1), call(), 500, `"code":"script_panic"`)
	}
	r := call()
	expect(t, "parked", r, 503, `"code":"script_parked"`, "crashed 6 times")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	status := fmt.Sprintf("%s/apps/crashy/scripts/%d/status", adminAPI, id)
	expect(t, "status", s.do("GET", status, nil), 200, `"state":"parked"`, `"parked_until":"`, `"crashes":6`, `"reason":"crashed 6 times`, `"parked_by":"`)
	expect(t, "list", s.do("GET", adminAPI+"/apps/crashy/scripts", nil), 200, `"state":"parked"`)
	expect(t, "good app", s.do("GET", "/", nil, "Host", "good.localhost"), 200)
	if !strings.Contains(s.logs.String(), "script parked") {
		t.Errorf("parking is not logged:\n%s", s.logs.String())
	}

	// A fixed version serves at once.
	expect(t, "fix", s.do("PUT", fmt.Sprintf("%s/scripts/%d", adminAPI, id),
		map[string]string{"source": hostile("", "\treturn picloud.Text(200, \"fixed\")")}), 200)
	expect(t, "fixed", call(), 200, "fixed")
	expect(t, "status after the fix", s.do("GET", status, nil), 200, `"state":"ok","reason":"","crashes":0`)
}

// TestScriptTimeoutOverride gives one script a shorter budget than its
// app's and checks it is the one applied.
func TestScriptTimeoutOverride(t *testing.T) {
	// Public errors on: the test reads the limit that applied from the
	// answer (callers see only the code by default; TestErrorPrivacy).
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir(), "PICLOUD_PUBLIC_ERRORS=true")
	expect(t, "create app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "slow"}), 201)
	expect(t, "app budget", s.do("PATCH", adminAPI+"/apps/slow", map[string]any{
		"settings": map[string]any{"timeout_ms": 60000}}), 200)
	id := s.deploy(t, "slow", "sleepy", hostile("\t\"time\"\n", "\ttime.Sleep(time.Hour)\n\treturn nil"), "/")
	expect(t, "script budget", s.do("PATCH", fmt.Sprintf("%s/scripts/%d", adminAPI, id),
		map[string]any{"settings": map[string]any{"timeout_ms": 200}}), 200, `"timeout_ms":200`)
	start := time.Now()
	expect(t, "overrun", s.do("GET", "/", nil, "Host", "slow.localhost"), 504, `"code":"script_timeout"`, "200ms")
	if d := time.Since(start); d > 200*time.Millisecond+time.Second {
		t.Errorf("504 after %s: the script's 200ms budget was not applied", d)
	}
}

// TestScriptResponseLimitOverride: a script's own response limit beats
// its app's, both ways (config < app < script).
func TestScriptResponseLimitOverride(t *testing.T) {
	s := startWithAdmin(t, "PICLOUD_DATA_DIR="+t.TempDir())
	expect(t, "create app", s.do("POST", adminAPI+"/apps", map[string]string{"slug": "media"}), 201)
	expect(t, "app limit", s.do("PATCH", adminAPI+"/apps/media", map[string]any{
		"settings": map[string]any{"max_response_body": 1024}}), 200)
	big := hostile("\t\"strings\"\n", "\treturn picloud.Text(200, strings.Repeat(\"x\", 4096))")
	expect(t, "over the app's limit", func() response {
		s.deploy(t, "media", "capped", big, "/capped")
		return s.do("GET", "/capped", nil, "Host", "media.localhost")
	}(), 500, `"code":"response_too_large"`)
	id := s.deploy(t, "media", "raised", big, "/raised")
	expect(t, "script limit", s.do("PATCH", fmt.Sprintf("%s/scripts/%d", adminAPI, id),
		map[string]any{"settings": map[string]any{"max_response_body": 8192}}), 200)
	r := s.do("GET", "/raised", nil, "Host", "media.localhost")
	expect(t, "within the script's own limit", r, 200)
	if len(r.Body) != 4096 {
		t.Errorf("body of %d bytes, want 4096", len(r.Body))
	}
}

// deploy creates a script in app and binds it to every method of path.
func (s *server) deploy(t *testing.T, app, name, source, path string) int64 {
	t.Helper()
	r := s.do("POST", adminAPI+"/apps/"+app+"/scripts", map[string]string{"name": name, "source": source})
	expect(t, "create "+name, r, 201)
	id := int64(r.json(t)["id"].(float64))
	expect(t, "route "+name, s.do("POST", fmt.Sprintf("%s/scripts/%d/routes", adminAPI, id),
		map[string]string{"method": "ANY", "path": path}), 201)
	return id
}

// announce sends a POST whose headers promise size bytes of body, sends
// none, and reads the answer.
func announce(t *testing.T, s *server, path, host string, size int) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.base, "http://"), 10*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", path, host, size); err != nil {
		t.Fatalf("write: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the body: %v", err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}
