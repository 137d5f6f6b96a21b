package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
)

// hostileScript misbehaves as ?mode= says, or answers "ok".
const hostileScript = `package main

import (
	"picloud"
	"strconv"
	"strings"
	"time"
)

var calls int

func Handle(req *picloud.Request) *picloud.Response {
	calls++
	switch req.QueryParam("mode") {
	case "count":
		return picloud.Text(200, strconv.Itoa(calls))
	case "loop":
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
	case "deadlock":
		ch := make(chan int)
		<-ch
	case "panic":
		panic("boom")
	case "big":
		return picloud.Text(200, strings.Repeat("x", 4096))
	}
	return picloud.Text(200, "ok")
}
`

func mode(m string) *actors.Request {
	r := get("/")
	r.RawQuery = "mode=" + m
	return r
}

func TestOverrunIsStoppedAndAnswered504(t *testing.T) {
	eachMode(t, testOverrunIsStoppedAndAnswered504)
}

func testOverrunIsStoppedAndAnswered504(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	// The bound is budget + 250 ms; the check allows a loaded CI
	// machine (two cores, -race) more, and is about the call being
	// stopped rather than awaited: each case would otherwise take an hour.
	const budget = 200 * time.Millisecond
	const bound = budget + time.Second
	for _, m := range []string{"loop", "sleep", "deadlock"} {
		t.Run(m, func(t *testing.T) {
			rt := newRuntime(t)
			pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 2, Timeout: budget},
				[]actors.ScriptVersion{script(1, 1, hostileScript)},
				actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

			start := time.Now()
			hostile := send(rt, pid, mode(m), 0)
			// Meanwhile the same script keeps serving on its other executor.
			if res := call(t, rt, pid, mode("ok"), 0); res.Status != 200 {
				t.Fatalf("during the overrun: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
			}
			res := await(t, hostile)
			if elapsed := time.Since(start); elapsed > bound {
				t.Errorf("answered after %s, want within %s", elapsed, bound)
			}
			if res.Status != 504 || res.ErrCode != actors.CodeTimeout {
				t.Fatalf("overrun: %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
			}
			// The executor that ran it has a fresh interpreter; the
			// script goes on being served.
			for range 3 {
				if res := call(t, rt, pid, mode("ok"), 0); res.Status != 200 || string(res.Body) != "ok" {
					t.Fatalf("after the overrun: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
				}
			}
		})
	}
}

func TestOverrunReplacesTheInterpreter(t *testing.T) { eachMode(t, testOverrunReplacesTheInterpreter) }

func testOverrunReplacesTheInterpreter(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, Timeout: 100 * time.Millisecond},
		[]actors.ScriptVersion{script(1, 1, hostileScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))
	for _, want := range []string{"1", "2"} {
		if res := call(t, rt, pid, mode("count"), 0); string(res.Body) != want {
			t.Fatalf("count: %d %q, want %s", res.Status, res.Body, want)
		}
	}
	if res := call(t, rt, pid, mode("loop"), 0); res.ErrCode != actors.CodeTimeout {
		t.Fatalf("loop: %d %q", res.Status, res.ErrCode)
	}
	// The only executor now runs a fresh interpreter: the count restarts.
	if res := call(t, rt, pid, mode("count"), 0); string(res.Body) != "1" {
		t.Fatalf("after the overrun: %d %q %s, want a fresh count of 1", res.Status, res.Body, res.ErrMessage)
	}
}

func TestCrashLoopIsParked(t *testing.T) { eachMode(t, testCrashLoopIsParked) }

func testCrashLoopIsParked(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	limits := actors.Limits{MaxConcurrency: 1, CrashLimit: 2, CrashWindow: 500 * time.Millisecond}
	routes := actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}
	pid := startApp(t, rt, snapshot(limits, []actors.ScriptVersion{script(1, 1, hostileScript)}, routes))

	for i := range 3 {
		if res := call(t, rt, pid, mode("panic"), 0); res.ErrCode != actors.CodePanic {
			t.Fatalf("crash %d: %d %q %s", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
	}
	res := call(t, rt, pid, mode("ok"), 0)
	if res.Status != 503 || res.ErrCode != actors.CodeParked || res.RetryAfter <= 0 {
		t.Fatalf("after 3 crashes: %d %q retry %s %s", res.Status, res.ErrCode, res.RetryAfter, res.ErrMessage)
	}
	if !strings.Contains(res.ErrMessage, "crashed 3 times") {
		t.Errorf("message %q does not say why", res.ErrMessage)
	}
	p, _ := pool(status(t, rt, pid), 1, 1)
	if p.ParkedUntil.IsZero() || p.Crashes != 3 || p.ParkReason == "" {
		t.Errorf("status while parked: %+v", p)
	}
	// Parked, it runs nothing.
	eventually(t, waitFor, func() bool {
		p, _ := pool(status(t, rt, pid), 1, 1)
		return p.Executors == 0
	})

	// Once the window has passed it serves again.
	eventually(t, waitFor, func() bool {
		return call(t, rt, pid, mode("ok"), 0).Status == 200
	})
	if p, _ := pool(status(t, rt, pid), 1, 1); !p.ParkedUntil.IsZero() || p.Crashes != 0 {
		t.Errorf("status after the window: %+v", p)
	}

	// Parked again, then a new version is deployed: it serves at once.
	for i := range 3 {
		if res := call(t, rt, pid, mode("panic"), 0); res.ErrCode != actors.CodePanic {
			t.Fatalf("crash %d after the window: %d %q %s", i+1, res.Status, res.ErrCode, res.ErrMessage)
		}
	}
	if res := call(t, rt, pid, mode("ok"), 0); res.ErrCode != actors.CodeParked {
		t.Fatalf("parked again: %d %q", res.Status, res.ErrCode)
	}
	rt.Send(pid, snapshot(limits, []actors.ScriptVersion{script(1, 2, hostileScript)}, routes))
	if res := call(t, rt, pid, mode("ok"), 0); res.Status != 200 || res.Version != 2 {
		t.Fatalf("new version: %d %q v%d", res.Status, res.ErrCode, res.Version)
	}
}

func TestTimeoutsCountAsCrashes(t *testing.T) { eachMode(t, testTimeoutsCountAsCrashes) }

func testTimeoutsCountAsCrashes(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, Timeout: 20 * time.Millisecond, CrashLimit: 1, CrashWindow: time.Minute},
		[]actors.ScriptVersion{script(1, 1, hostileScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))
	for range 2 {
		if res := call(t, rt, pid, mode("loop"), 0); res.ErrCode != actors.CodeTimeout {
			t.Fatalf("loop: %d %q", res.Status, res.ErrCode)
		}
	}
	if res := call(t, rt, pid, mode("ok"), 0); res.ErrCode != actors.CodeParked {
		t.Fatalf("after 2 timeouts: %d %q", res.Status, res.ErrCode)
	}
}

func TestScriptLimitsOverrideTheApps(t *testing.T) { eachMode(t, testScriptLimitsOverrideTheApps) }

func testScriptLimitsOverrideTheApps(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	strict := script(1, 1, hostileScript)
	strict.Limits = &actors.Limits{Timeout: 50 * time.Millisecond, MaxResponseBody: 1000}
	lenient := script(2, 1, hostileScript)
	pid := startApp(t, rt, snapshot(actors.Limits{Timeout: time.Minute, MaxResponseBody: 1 << 20},
		[]actors.ScriptVersion{strict, lenient}))

	if res := call(t, rt, pid, mode("sleep"), 1); res.ErrCode != actors.CodeTimeout {
		t.Errorf("script with a 50ms budget: %d %q", res.Status, res.ErrCode)
	}
	if res := call(t, rt, pid, mode("big"), 1); res.Status != 500 || res.ErrCode != actors.CodeTooLarge {
		t.Errorf("4KiB response over a 1000 byte limit: %d %q %s", res.Status, res.ErrCode, res.ErrMessage)
	}
	if res := call(t, rt, pid, mode("big"), 2); res.Status != 200 || len(res.Body) != 4096 {
		t.Errorf("4KiB response under the app's limit: %d %q", res.Status, res.ErrCode)
	}
	// A response over the limit is not a crash: the script keeps serving.
	if res := call(t, rt, pid, mode("ok"), 1); res.Status != 200 {
		t.Errorf("after a big response: %d %q", res.Status, res.ErrCode)
	}
}

func TestQueueWaitIsBounded(t *testing.T) { eachMode(t, testQueueWaitIsBounded) }

func testQueueWaitIsBounded(t *testing.T, newRuntime func(testing.TB) *actors.Runtime) {
	rt := newRuntime(t)
	pid := startApp(t, rt, snapshot(actors.Limits{MaxConcurrency: 1, QueueTimeout: 50 * time.Millisecond},
		[]actors.ScriptVersion{script(1, 1, slowScript("ok"))},
		actors.Route{ID: 1, Method: "GET", Path: "/", ScriptID: 1}))

	running := send(rt, pid, slow("/", 1000), 0)
	res := call(t, rt, pid, slow("/", 0), 0)
	if res.Status != 503 || res.ErrCode != actors.CodeSaturated || !strings.Contains(res.ErrMessage, "no executor was free within 50ms") {
		t.Fatalf("queued request: %d %q %q", res.Status, res.ErrCode, res.ErrMessage)
	}
	if res := await(t, running); res.Status != 200 {
		t.Fatalf("running request: %d %s", res.Status, res.ErrMessage)
	}
	if res := call(t, rt, pid, slow("/", 0), 0); res.Status != 200 {
		t.Fatalf("afterwards: %d %s", res.Status, res.ErrMessage)
	}
}
