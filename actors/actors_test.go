package actors_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
)

func TestRouteParamsReachTheScript(t *testing.T) { eachMode(t, testRouteParamsReachTheScript) }

func testRouteParamsReachTheScript(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{},
		[]actors.ScriptVersion{script(1, 1, echoScript)},
		actors.Route{ID: 7, Method: "POST", Path: "/users/:id/files/*rest", ScriptID: 1}))

	req := &actors.Request{
		Method: "POST", Path: "/users/42/files/a/b.txt", Host: "acme.example.com",
		RawQuery: "q=hi&x=1", RequestID: "req-9", Body: []byte("payload"),
		Headers:      []actors.Header{{Name: "user-agent", Value: "test"}},
		DomainParams: map[string]string{"tenant": "acme"},
	}
	res := call(t, rt, pid, req, 0)
	if res.Status != 201 || res.ErrCode != "" {
		t.Fatalf("result %d %s %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	if res.RouteID != 7 || res.ScriptID != 1 || res.Version != 1 {
		t.Fatalf("result names route %d script %d v%d", res.RouteID, res.ScriptID, res.Version)
	}
	if header(res, "Content-Type") != "application/json" {
		t.Fatalf("headers %v", res.Headers)
	}
	var got map[string]any
	if err := json.Unmarshal(res.Body, &got); err != nil {
		t.Fatalf("body %q: %v", res.Body, err)
	}
	want := map[string]any{
		"method": "POST", "path": "/users/42/files/a/b.txt", "host": "acme.example.com",
		"params": map[string]any{"id": "42", "rest": "a/b.txt"},
		"domain": map[string]any{"tenant": "acme"},
		"query":  "hi", "agent": "test", "body": "payload", "id": "req-9", "app": "demo",
	}
	for k, v := range want {
		gb, _ := json.Marshal(got[k])
		wb, _ := json.Marshal(v)
		if string(gb) != string(wb) {
			t.Errorf("%s = %s; want %s", k, gb, wb)
		}
	}
}

// TestNoRouteIs404 also checks that a path with routes of other methods
// only is 405, with those methods in Allow.
func TestNoRouteIs404(t *testing.T) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{},
		[]actors.ScriptVersion{script(1, 1, helloScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/hello", ScriptID: 1}))

	res := call(t, rt, pid, get("/x"), 0)
	if res.Status != 404 || res.ErrCode != actors.CodeNotFound || res.ErrMessage != "no route for GET /x" {
		t.Fatalf("got %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
	}
	post := get("/hello")
	post.Method = "POST"
	res = call(t, rt, pid, post, 0)
	if res.Status != 405 || res.ErrCode != actors.CodeMethodNotAllowed ||
		len(res.Headers) != 1 || res.Headers[0] != (actors.Header{Name: "Allow", Value: "GET, HEAD"}) {
		t.Fatalf("POST /hello: %d %q %v", res.Status, res.ErrCode, res.Headers)
	}
	head := get("/hello")
	head.Method = "HEAD"
	if res := call(t, rt, pid, head, 0); res.Status != 200 {
		t.Fatalf("HEAD /hello (falls back to GET): %d %s", res.Status, res.ErrMessage)
	}
}

func TestInvokeByScriptID(t *testing.T) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{},
		[]actors.ScriptVersion{script(1, 3, helloScript), script(2, 1, echoScript)}))

	res := call(t, rt, pid, get("/anything"), 1)
	if res.Status != 200 || string(res.Body) != "hello" || res.ScriptID != 1 || res.Version != 3 || res.RouteID != 0 {
		t.Fatalf("got %d %q script %d v%d route %d", res.Status, res.Body, res.ScriptID, res.Version, res.RouteID)
	}
	res = call(t, rt, pid, get("/anything"), 99)
	if res.Status != 404 || res.ErrCode != actors.CodeNotFound || !strings.Contains(res.ErrMessage, "no script 99") {
		t.Fatalf("unknown script: %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
	}
}

func TestScriptThatDoesNotCompile(t *testing.T) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{},
		[]actors.ScriptVersion{script(1, 1, "package main\n\nfunc Handle( {\n")}))
	for range 2 {
		res := call(t, rt, pid, get("/"), 1)
		if res.Status != 500 || res.ErrCode != actors.CodeLoadFailed || res.ErrMessage == "" {
			t.Fatalf("got %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
		}
	}
}

func TestPanicThenNextRequestWorks(t *testing.T) { eachMode(t, testPanicThenNextRequestWorks) }

func testPanicThenNextRequestWorks(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	// A crash limit high enough that the panics below do not park it.
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, CrashLimit: 100},
		[]actors.ScriptVersion{script(1, 1, counterScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/count", ScriptID: 1}))

	for _, want := range []string{"1", "2"} {
		if res := call(t, rt, pid, get("/count"), 0); string(res.Body) != want {
			t.Fatalf("call %s: %d %q %s", want, res.Status, res.Body, res.ErrMessage)
		}
	}
	boom := get("/count")
	boom.RawQuery = "boom=1"
	res := call(t, rt, pid, boom, 0)
	if res.Status != 500 || res.ErrCode != actors.CodePanic || !strings.HasPrefix(res.ErrMessage, "script panicked: ") ||
		!strings.Contains(res.ErrMessage, "kaboom") {
		t.Fatalf("panic: %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
	}
	// The executor was restarted with a fresh interpreter: the counter
	// starts again, and the pool still counts exactly one executor.
	if res := call(t, rt, pid, get("/count"), 0); res.Status != 200 || string(res.Body) != "1" {
		t.Fatalf("after the panic: %d %q %s", res.Status, res.Body, res.ErrMessage)
	}
	// Several panics in a row, each answered, each followed by a working call.
	for range 12 {
		if res := call(t, rt, pid, boom, 0); res.ErrCode != actors.CodePanic {
			t.Fatalf("repeated panic: %d %q", res.Status, res.ErrCode)
		}
	}
	if res := call(t, rt, pid, get("/count"), 0); string(res.Body) != "1" {
		t.Fatalf("after repeated panics: %d %q %s", res.Status, res.Body, res.ErrMessage)
	}
	// The executor reports itself idle after it answers: wait for it.
	var p actors.PoolStatus
	eventually(t, waitFor, func() bool {
		p, _ = pool(status(t, rt, pid), 1, 1)
		return p.Executors == 1 && p.Idle == 1
	})
	if p.Executors != 1 || p.Idle != 1 {
		t.Fatalf("pool after panics: %+v", p)
	}
}

func TestHotReload(t *testing.T) { eachMode(t, testHotReload) }

func testHotReload(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	limits := actors.Limits{MaxConcurrency: 1}
	v1 := snapshot(limits, []actors.ScriptVersion{script(1, 1, slowScript("v1"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1})
	pid := startApp(t, rt, v1)

	inFlight := send(rt, pid, slow("/", 300), 0)
	queued := send(rt, pid, slow("/", 0), 0) // waits behind inFlight in the v1 pool
	eventually(t, waitFor, func() bool {
		p, _ := pool(status(t, rt, pid), 1, 1)
		return busy(p) == 1 && p.Queued == 1
	})

	v2 := snapshot(limits, []actors.ScriptVersion{script(1, 2, slowScript("v2"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1})
	rt.Send(pid, v2)
	res := call(t, rt, pid, slow("/", 0), 0)
	if string(res.Body) != "v2" || res.Version != 2 {
		t.Fatalf("new request after reload: %q v%d %s", res.Body, res.Version, res.ErrMessage)
	}
	select {
	case <-inFlight.C():
		t.Fatal("the v2 request waited for the in-flight v1 request")
	default:
	}
	for name, reply := range map[string]*actors.Reply{"in flight": inFlight, "queued": queued} {
		if res := await(t, reply); string(res.Body) != "v1" || res.Version != 1 {
			t.Fatalf("%s v1 request: %q v%d %s", name, res.Body, res.Version, res.ErrMessage)
		}
	}
	// The v1 pool drains and goes away; v2 stays.
	eventually(t, waitFor, func() bool {
		st := status(t, rt, pid)
		_, old := pool(st, 1, 1)
		cur, ok := pool(st, 1, 2)
		return !old && ok && cur.Live
	})
}

func TestManyParallelRequests(t *testing.T) { eachMode(t, testManyParallelRequests) }

func testManyParallelRequests(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 4},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	const n = 64
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			res := call(t, rt, pid, slow("/", 2), 0)
			if res.Status != 200 || string(res.Body) != "ok" {
				errs <- res.ErrCode + ": " + res.ErrMessage
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	p, _ := pool(status(t, rt, pid), 1, 1)
	if p.Executors > 4 || p.Executors < 1 {
		t.Fatalf("pool grew to %d executors; the limit is 4", p.Executors)
	}
}

func TestSaturationIs503(t *testing.T) { eachMode(t, testSaturationIs503) }

func testSaturationIs503(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, QueueLimit: 1},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	running := send(rt, pid, slow("/", 200), 0)
	queued := send(rt, pid, slow("/", 0), 0)
	res := call(t, rt, pid, slow("/", 0), 0)
	if res.Status != 503 || res.ErrCode != actors.CodeSaturated || !strings.Contains(res.ErrMessage, "1 running and 1 queued") {
		t.Fatalf("third request: %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
	}
	for _, r := range []*actors.Reply{running, queued} {
		if res := await(t, r); res.Status != 200 {
			t.Fatalf("accepted request: %d %s", res.Status, res.ErrMessage)
		}
	}
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 200 {
		t.Fatalf("after the burst: %d %s", res.Status, res.ErrMessage)
	}
}

func TestIdleExecutorsStop(t *testing.T) {
	rt := newRuntime(t)
	// The idle timeout must outlast the gap between the answers and the
	// status query below, however loaded the machine.
	pid := startApp(t, rt, snapshot(actors.Limits{IdleTimeout: 500 * time.Millisecond},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	a, b := send(rt, pid, slow("/", 50), 0), send(rt, pid, slow("/", 50), 0)
	await(t, a)
	await(t, b)
	if p, _ := pool(status(t, rt, pid), 1, 1); p.Executors != 2 {
		t.Fatalf("two parallel requests ran on %d executors", p.Executors)
	}
	eventually(t, waitFor, func() bool {
		p, ok := pool(status(t, rt, pid), 1, 1)
		return ok && p.Executors == 0
	})
	// The pool grows again on demand.
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 200 {
		t.Fatalf("after the sweep: %d %s", res.Status, res.ErrMessage)
	}
}

func TestTimeoutIs504(t *testing.T) { eachMode(t, testTimeoutIs504) }

func testTimeoutIs504(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, Timeout: 50 * time.Millisecond},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	res := call(t, rt, pid, slow("/", 200), 0)
	if res.Status != 504 || res.ErrCode != actors.CodeTimeout {
		t.Fatalf("overrun: %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
	}
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 200 {
		t.Fatalf("after the overrun: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
}

func TestStopDrainsTheRouter(t *testing.T) { eachMode(t, testStopDrainsTheRouter) }

func testStopDrainsTheRouter(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	inFlight := send(rt, pid, slow("/", 200), 0)
	queued := send(rt, pid, slow("/", 0), 0)
	rt.Stop(pid)
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 503 || res.ErrCode != actors.CodeUnavailable {
		t.Fatalf("request after Stop: %d %q", res.Status, res.ErrCode)
	}
	for _, r := range []*actors.Reply{inFlight, queued} {
		if res := await(t, r); res.Status != 200 {
			t.Fatalf("held request: %d %s", res.Status, res.ErrMessage)
		}
	}
	// Once stopped, the router's name is free and Invokes sent to the old
	// PID are still answered.
	eventually(t, waitFor, func() bool {
		pid2, err := rt.SpawnRouter(1, "demo")
		if err == nil {
			rt.Stop(pid2)
		}
		return err == nil
	})
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 503 || res.ErrCode != actors.CodeUnavailable {
		t.Fatalf("request to a stopped router: %d %q", res.Status, res.ErrCode)
	}
}

func TestSnapshotDropsBadRoutes(t *testing.T) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{},
		[]actors.ScriptVersion{script(1, 1, helloScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/a", ScriptID: 1},
		actors.Route{ID: 2, Method: "GET", Path: "/b", ScriptID: 42},    // no such script
		actors.Route{ID: 3, Method: "GET", Path: "/api/x", ScriptID: 1}, // reserved
		actors.Route{ID: 4, Method: "GET", Path: "/a", ScriptID: 1},     // conflict
	))
	if st := status(t, rt, pid); st.Routes != 1 {
		t.Fatalf("router kept %d routes; want 1", st.Routes)
	}
	if res := call(t, rt, pid, get("/a"), 0); res.Status != 200 || res.RouteID != 1 {
		t.Fatalf("GET /a: %d route %d", res.Status, res.RouteID)
	}
	if res := call(t, rt, pid, get("/b"), 0); res.Status != 404 {
		t.Fatalf("GET /b: %d", res.Status)
	}
}

func TestSpawnRouterTwiceFails(t *testing.T) {
	rt := newRuntime(t)
	if _, err := rt.SpawnRouter(5, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.SpawnRouter(5, "x"); err == nil || !strings.Contains(err.Error(), "app 5") {
		t.Fatalf("second spawn: %v", err)
	}
}

func TestRouterRestartKeepsSnapshotAndRequests(t *testing.T) {
	eachMode(t, testRouterRestartKeepsSnapshotAndRequests)
}

func testRouterRestartKeepsSnapshotAndRequests(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	inFlight := send(rt, pid, slow("/", 200), 0)
	queued := send(rt, pid, slow("/", 0), 0)
	eventually(t, waitFor, func() bool {
		p, _ := pool(status(t, rt, pid), 1, 1)
		return busy(p) == 1 && p.Queued == 1
	})
	// An Invoke without a Reply is a caller's bug; answering it crashes
	// the router, which its supervisor restarts.
	rt.Send(pid, &actors.Invoke{Request: get("/nowhere")})

	for name, r := range map[string]*actors.Reply{"in flight": inFlight, "queued": queued} {
		if res := await(t, r); res.Status != 200 {
			t.Fatalf("%s request: %d %s", name, res.Status, res.ErrMessage)
		}
	}
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 200 {
		t.Fatalf("after the restart: %d %s", res.Status, res.ErrMessage)
	}
}

func TestExecutorFailureKeepsPoolUsable(t *testing.T) {
	eachMode(t, testExecutorFailureKeepsPoolUsable)
}

func testExecutorFailureKeepsPoolUsable(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1},
		[]actors.ScriptVersion{script(1, 1, counterScript)}))

	// An Invoke without a Reply makes the executor fail after the call;
	// the pool's only executor must come back as free, not stay busy.
	rt.Send(pid, &actors.Invoke{Request: get("/"), ScriptID: 1})
	for range 3 {
		if res := call(t, rt, pid, get("/"), 1); res.Status != 200 {
			t.Fatalf("after the failure: %d %s", res.Status, res.ErrMessage)
		}
	}
	// The executor answers before it tells the router it is idle: wait
	// for the router to hear it.
	eventually(t, waitFor, func() bool {
		p, _ := pool(status(t, rt, pid), 1, 1)
		return p.Executors == 1 && p.Idle == 1
	})
}
