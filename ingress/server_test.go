package ingress_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
)

// scriptedRouter stands in for a router actor: it answers every Invoke
// with answer(inv), or never when answer returns false.
type scriptedRouter struct {
	answer func(inv *actors.Invoke) (actors.Result, bool)
}

func (r scriptedRouter) Send(_ *actor.PID, msg any) {
	inv := msg.(*actors.Invoke)
	if res, ok := r.answer(inv); ok {
		inv.Reply.Send(res)
	}
}

type memRecorder struct {
	mu   sync.Mutex
	invs []ingress.Invocation
}

func (m *memRecorder) Add(inv ingress.Invocation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.invs = append(m.invs, inv)
}

func start(t *testing.T, router scriptedRouter, rec ingress.Recorder, timeout time.Duration) string {
	t.Helper()
	s := ingress.New(ingress.Options{Version: "test", PublicBaseURL: "http://pi.example", Timeout: timeout,
		AdminHost: adminHost, SessionCookie: "picloud_session"},
		router, rec, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pid := actor.NewPID("nonhost", "app-1")
	s.SetTable(ingress.NewTable([]ingress.App{{ID: 1, Slug: "hello", Router: pid}}, map[int64]int64{7: 1}, "hello"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: s.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Custom", "v")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServer(t *testing.T) {
	var mu sync.Mutex
	var last *actors.Invoke
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		mu.Lock()
		last = inv
		mu.Unlock()
		switch inv.Request.Path {
		case "/slow":
			return actors.Result{}, false
		case "/panic":
			return actors.Result{ErrCode: actors.CodePanic, ErrMessage: "script panicked: boom"}, true
		case "/busy":
			return actors.Result{ErrCode: actors.CodeSaturated, ErrMessage: "full"}, true
		case "/parked":
			return actors.Result{ErrCode: actors.CodeParked, ErrMessage: "crashed", RetryAfter: 41500 * time.Millisecond}, true
		case "/stopping":
			return actors.Result{ErrCode: actors.CodeUnavailable, ErrMessage: "shutting down"}, true
		case "/big":
			return actors.Result{ErrCode: actors.CodeTooLarge, ErrMessage: "too large"}, true
		case "/missing":
			return actors.Result{ErrCode: actors.CodeNotFound, ErrMessage: "no route for GET /missing"}, true
		}
		return actors.Result{Status: 201, Body: []byte("hi " + inv.Request.Path), Output: "log line", ScriptID: 7, Version: 3,
			Headers: []actors.Header{
				{Name: "X-Script", Value: "yes"},
				{Name: "Content-Length", Value: "1"},
				{Name: "X-Request-Id", Value: "forged"},
				{Name: "X-Split", Value: "a\r\nInjected: 1"},
			}}, true
	}}
	rec := &memRecorder{}
	base := start(t, router, rec, 300*time.Millisecond)

	tests := []struct {
		name, method, path string
		status             int
		body               string
		header             map[string]string
	}{
		{"healthz", "GET", "/healthz", 200, "ok", nil},
		{"version", "GET", "/version", 200, `"public_base_url":"http://pi.example"`, nil},
		{"script", "POST", "/hello?x=1", 201, "hi /hello", map[string]string{"X-Script": "yes", "Injected": ""}},
		{"panic", "GET", "/panic", 500, `"code":"script_panic"`, nil},
		{"saturated", "GET", "/busy", 503, `"code":"saturated"`, map[string]string{"Retry-After": "1"}},
		{"parked", "GET", "/parked", 503, `"code":"script_parked"`, map[string]string{"Retry-After": "42"}},
		{"router stopping", "GET", "/stopping", 503, `"code":"unavailable"`, map[string]string{"Retry-After": "1"}},
		{"response too large", "GET", "/big", 500, `"code":"response_too_large"`, nil},
		{"no route", "GET", "/missing", 404, `"code":"not_found"`, nil},
		{"timeout", "GET", "/slow", 504, `"code":"script_timeout"`, nil},
		{"reserved api", "GET", "/api/other", 404, `"code":"not_found"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, tt.method, base+tt.path)
			if res.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("got %d %q, want %d containing %q", res.StatusCode, body, tt.status, tt.body)
			}
			id := res.Header.Get("X-Request-Id")
			if id == "" || id == "forged" {
				t.Fatalf("X-Request-Id = %q", id)
			}
			if res.StatusCode >= 400 && !strings.Contains(body, `"request_id":"`+id+`"`) {
				t.Fatalf("error body does not carry the request id %q: %s", id, body)
			}
			for k, v := range tt.header {
				if got := res.Header.Get(k); got != v {
					t.Fatalf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}

	mu.Lock()
	req := last.Request
	mu.Unlock()
	if req.Method != "GET" || req.RequestID == "" {
		t.Fatalf("last request = %+v", req)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var found bool
	for _, inv := range rec.invs {
		if inv.Path == "/hello" && inv.Status == 201 && inv.ScriptID == 7 && inv.Version == 3 && inv.Output == "log line" && inv.AppID == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no invocation recorded for /hello: %+v", rec.invs)
	}
}

func TestRequestCopied(t *testing.T) {
	got := make(chan *actors.Request, 1)
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		got <- inv.Request
		return actors.Result{Status: 200}, true
	}}
	base := start(t, router, nil, time.Second)
	get(t, "PUT", base+"/p/q?a=b&c=d")
	req := <-got
	// fasthttp reuses its buffers: what the router got must be a copy
	// that later requests cannot change.
	get(t, "DELETE", base+"/zzzzzzzzzzzz?zz=zz")
	<-got
	if req.Method != "PUT" || req.Path != "/p/q" || req.RawQuery != "a=b&c=d" || string(req.Body) != "payload" {
		t.Fatalf("request changed under the router: %+v", req)
	}
	var custom string
	for _, h := range req.Headers {
		if h.Name == "X-Custom" {
			custom = h.Value
		}
	}
	if custom != "v" {
		t.Fatalf("X-Custom header = %q", custom)
	}
}

// TestExecuteHidesCredentials: a script run through execute never sees
// the credentials that let its caller in, while a routed script sees its
// request's headers as sent.
func TestExecuteHidesCredentials(t *testing.T) {
	got := make(chan *actors.Request, 1)
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		got <- inv.Request
		return actors.Result{Status: 200}, true
	}}
	base := start(t, router, nil, time.Second)
	send := func(path string) map[string]string {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(path, "/api/v1/execute/") {
			req.Host = adminHost // execute answers only there
		}
		req.Header.Set("Authorization", "Bearer secret-token")
		req.Header.Set("Cookie", "picloud_session=secret-cookie")
		req.Header.Set("X-Custom", "v")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		headers := map[string]string{}
		for _, h := range (<-got).Headers {
			headers[h.Name] = h.Value
		}
		return headers
	}
	h := send("/api/v1/execute/7")
	if h["Authorization"] != "" || h["Cookie"] != "" || h["X-Custom"] != "v" {
		t.Fatalf("execute passed headers %v", h)
	}
	h = send("/routed")
	if h["Authorization"] != "Bearer secret-token" || h["Cookie"] == "" {
		t.Fatalf("a routed script lost its headers: %v", h)
	}
}
