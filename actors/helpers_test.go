package actors_test

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/engine"
)

// waitFor bounds every wait of these tests; nothing should come close.
const waitFor = 10 * time.Second

// eventually fails t unless cond becomes true within d.
func eventually(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newRuntime(t testing.TB) *actors.Runtime {
	t.Helper()
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(rt.Shutdown)
	return rt
}

// startApp spawns app 1 ("demo") and sends it snap.
func startApp(t testing.TB, rt *actors.Runtime, snap *actors.AppSnapshot) *actor.PID {
	t.Helper()
	pid, err := rt.SpawnRouter(snap.AppID, snap.Slug)
	if err != nil {
		t.Fatal(err)
	}
	rt.Send(pid, snap)
	return pid
}

// snapshot builds a snapshot of app 1 from scripts and "METHOD /path
// -> script id" routes.
func snapshot(limits actors.Limits, scripts []actors.ScriptVersion, routes ...actors.Route) *actors.AppSnapshot {
	return &actors.AppSnapshot{AppID: 1, Slug: "demo", Scripts: scripts, Routes: routes, Limits: limits}
}

func script(id, version int64, source string) actors.ScriptVersion {
	return actors.ScriptVersion{Script: engine.Script{ScriptID: id, Name: "script" + string(rune('a'+id)), Version: version, Source: source}}
}

func get(path string) *actors.Request {
	return &actors.Request{Method: "GET", Path: path, Host: "demo.example.com", RequestID: "req-1"}
}

// send sends an Invoke and returns its Reply without waiting.
func send(rt *actors.Runtime, pid *actor.PID, req *actors.Request, scriptID int64) *actors.Reply {
	reply := actors.NewReply()
	rt.Send(pid, &actors.Invoke{Request: req, ScriptID: scriptID, Reply: reply})
	return reply
}

// await waits for the Result of reply.
func await(t testing.TB, reply *actors.Reply) actors.Result {
	t.Helper()
	select {
	case res := <-reply.C():
		return res
	case <-time.After(waitFor):
		t.Fatal("no Result")
		return actors.Result{}
	}
}

// call invokes and waits.
func call(t testing.TB, rt *actors.Runtime, pid *actor.PID, req *actors.Request, scriptID int64) actors.Result {
	t.Helper()
	return await(t, send(rt, pid, req, scriptID))
}

// status asks the router for its status.
func status(t testing.TB, rt *actors.Runtime, pid *actor.PID) actors.RouterStatus {
	t.Helper()
	ch := make(chan actors.RouterStatus, 1)
	rt.Send(pid, &actors.Inspect{Reply: ch})
	select {
	case st := <-ch:
		return st
	case <-time.After(waitFor):
		t.Fatal("no RouterStatus")
		return actors.RouterStatus{}
	}
}

// pool returns the status of script's version pool, if any.
func pool(st actors.RouterStatus, scriptID, version int64) (actors.PoolStatus, bool) {
	for _, p := range st.Pools {
		if p.ScriptID == scriptID && p.Version == version {
			return p, true
		}
	}
	return actors.PoolStatus{}, false
}

// busy is how many executors of the pool are running a request.
func busy(p actors.PoolStatus) int { return p.Executors - p.Idle }

func header(res actors.Result, name string) string {
	for _, h := range res.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

const helloScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "hello")
}
`

// echoScript answers what it was given, as JSON.
const echoScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(201, map[string]any{
		"method": req.Method,
		"path":   req.Path,
		"host":   req.Host,
		"params": req.Params,
		"domain": req.DomainParams,
		"query":  req.QueryParam("q"),
		"agent":  req.Header("user-agent"),
		"body":   string(req.Body),
		"id":     req.RequestID,
		"app":    req.App,
	})
}
`

// counterScript counts its calls in a global, so a test can tell a fresh
// interpreter from a reused one, and panics when asked.
const counterScript = `package main

import (
	"picloud"
	"strconv"
)

var calls int

func Handle(req *picloud.Request) *picloud.Response {
	calls++
	if req.QueryParam("boom") != "" {
		panic("kaboom")
	}
	return picloud.Text(200, strconv.Itoa(calls))
}
`

// slowScript busy-waits for ?ms= milliseconds, then answers its tag.
func slowScript(tag string) string {
	return `package main

import (
	"picloud"
	"strconv"
	"time"
)

func Handle(req *picloud.Request) *picloud.Response {
	ms, _ := strconv.Atoi(req.QueryParam("ms"))
	end := time.Now().Add(time.Duration(ms) * time.Millisecond)
	for time.Now().Before(end) {
	}
	return picloud.Text(200, "` + tag + `")
}
`
}

func slow(path string, ms int) *actors.Request {
	r := get(path)
	r.RawQuery = "ms=" + strconv.Itoa(ms)
	return r
}
