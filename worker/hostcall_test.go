package worker_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// recordingHost is an sdk.Host in memory that remembers what it served.
type recordingHost struct {
	mu   sync.Mutex
	kv   map[string][]byte
	ttls map[string]time.Duration
	ops  []string
}

func newRecordingHost() *recordingHost {
	return &recordingHost{kv: map[string][]byte{}, ttls: map[string]time.Duration{}}
}

func (h *recordingHost) op(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, s)
}

func (h *recordingHost) KVGet(_ context.Context, key string) ([]byte, bool, error) {
	h.op("get " + key)
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.kv[key]
	return v, ok, nil
}

func (h *recordingHost) KVSet(_ context.Context, key string, value []byte, ttl time.Duration) error {
	h.op("set " + key)
	h.mu.Lock()
	defer h.mu.Unlock()
	if key == "full" {
		return errors.New("picloud.KV.Set: kv quota exceeded: the app stores 3 keys, its limit is 3")
	}
	h.kv[key], h.ttls[key] = value, ttl
	return nil
}

func (h *recordingHost) KVDelete(_ context.Context, key string) error {
	h.op("delete " + key)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.kv, key)
	return nil
}

func (h *recordingHost) KVList(_ context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	h.op(fmt.Sprintf("list %s %s %d", prefix, cursor, limit))
	h.mu.Lock()
	defer h.mu.Unlock()
	var keys []string
	for k := range h.kv {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, "next", nil
}

func (h *recordingHost) KVIncrement(_ context.Context, key string, delta int64) (int64, error) {
	h.op("increment " + key)
	return 41 + delta, nil
}

func (h *recordingHost) Secret(_ context.Context, name string) (string, bool, error) {
	h.op("secret " + name)
	return "s3cr3t", name == "TOKEN", nil
}

func (h *recordingHost) Fetch(_ context.Context, req *sdk.FetchRequest) (*sdk.FetchResponse, error) {
	h.op("fetch " + req.Method + " " + req.URL + " " + req.Headers["X-A"] + " " + string(req.Body) + " " + req.Timeout.String())
	return &sdk.FetchResponse{Status: 203, Headers: map[string]string{"X-B": "b"}, Body: []byte("fetched")}, nil
}

func (h *recordingHost) Invoke(_ context.Context, script string, req *sdk.Request) (*sdk.Response, error) {
	h.op("invoke " + script + " " + req.Method + " " + req.Path + " " + req.QueryParam("q"))
	return &sdk.Response{Status: 201, Body: []byte("invoked"), Added: []sdk.Header{{Name: "Set-Cookie", Value: "c=1"}}}, nil
}

const sdkScript = `package main

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	var out []string
	add := func(s string) { out = append(out, s) }
	if err := picloud.KV.Set("a", []byte("1"), time.Minute); err != nil {
		add("set: " + err.Error())
	}
	v, ok, err := picloud.KV.Get("a")
	add("get " + string(v) + " " + strconv.FormatBool(ok) + " " + errString(err))
	_, ok, _ = picloud.KV.Get("nope")
	add("missing " + strconv.FormatBool(ok))
	keys, cursor, _ := picloud.KV.List("", "", 5)
	add("list " + strings.Join(keys, ",") + " " + cursor)
	n, _ := picloud.KV.Increment("n", 1)
	add("incr " + strconv.FormatInt(n, 10))
	picloud.KV.Delete("a")
	add("quota " + errString(picloud.KV.Set("full", nil, 0)))
	s, ok := picloud.Secret("TOKEN")
	add("secret " + s + " " + strconv.FormatBool(ok))
	r, err := picloud.Fetch(&picloud.FetchRequest{Method: "PUT", URL: "https://x.test/y", Headers: map[string]string{"X-A": "a"}, Body: []byte("b"), Timeout: time.Second})
	add("fetch " + strconv.Itoa(r.Status) + " " + r.Header("x-b") + " " + string(r.Body) + " " + errString(err))
	ir, err := picloud.Invoke("other", &picloud.Request{Method: "GET", Path: "/p", Query: url.Values{"q": {"1"}}})
	add("invoke " + strconv.Itoa(ir.Status) + " " + string(ir.Body) + " " + errString(err))
	for _, h := range ir.Added {
		add("invoke added " + h.Name + ": " + h.Value)
	}
	add("trigger " + req.Trigger)
	return picloud.Text(200, strings.Join(out, "\n"))
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
`

// TestSDKv2InAWorker: a script in a worker process reaches the Host of
// its call for every SDK v2 call, through the host, and gets what the
// Host answered, errors included.
func TestSDKv2InAWorker(t *testing.T) {
	e := newEngine(t, worker.Options{})
	ctx := context.Background()
	inst, err := e.Load(ctx, engine.AppRef{ID: 1, Slug: "demo"}, engine.Script{ScriptID: 1, Version: 1, Source: sdkScript}, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	h := newRecordingHost()
	res := inst.Call(sdk.WithHost(ctx, h), &sdk.Request{Method: "GET", Path: "/", Trigger: sdk.TriggerSchedule})
	if res.Err != nil || res.Panic != nil {
		t.Fatalf("Call: %v %v", res.Err, res.Panic)
	}
	want := strings.Join([]string{
		"get 1 true nil", "missing false", "list a next", "incr 42",
		"quota picloud.KV.Set: kv quota exceeded: the app stores 3 keys, its limit is 3",
		"secret s3cr3t true", "fetch 203 b fetched nil", "invoke 201 invoked nil", "invoke added Set-Cookie: c=1", "trigger schedule",
	}, "\n")
	if string(res.Response.Body) != want {
		t.Errorf("the script answered\n%s\nwant\n%s", res.Response.Body, want)
	}
	if h.ttls["a"] != time.Minute {
		t.Errorf("ttl %s reached the host", h.ttls["a"])
	}
	ops := strings.Join(h.ops, "\n")
	for _, w := range []string{"fetch PUT https://x.test/y a b 1s", "invoke other GET /p 1", "list   5"} {
		if !strings.Contains(ops, w) {
			t.Errorf("the host served\n%s\nwithout %q", ops, w)
		}
	}
}

// slowHost answers KV gets only when released.
type slowHost struct {
	recordingHost
	release chan struct{}
}

func (h *slowHost) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	select {
	case <-h.release:
		return []byte("late"), true, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// TestHostCallEndsWithTheCall: when the caller gives up on a call that
// waits for the host, the host call is cancelled with it and the worker
// stays usable.
func TestHostCallEndsWithTheCall(t *testing.T) {
	e := newEngine(t, worker.Options{})
	src := `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	v, _, err := picloud.KV.Get("k")
	if err != nil {
		return picloud.Text(500, err.Error())
	}
	return picloud.Text(200, string(v))
}
`
	inst, err := e.Load(context.Background(), engine.AppRef{ID: 1, Slug: "demo"}, engine.Script{ScriptID: 1, Version: 1, Source: src}, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A call without a Host: the script's SDK v2 calls fail, cleanly.
	if res := inst.Call(context.Background(), &sdk.Request{}); !strings.Contains(string(res.Response.Body), "no access to the server") {
		t.Errorf("without a host: %v %v %s", res.Err, res.Panic, res.Response.Body)
	}
	h := &slowHost{recordingHost: *newRecordingHost(), release: make(chan struct{})}
	ctx, cancel := context.WithTimeout(sdk.WithHost(context.Background(), h), 200*time.Millisecond)
	defer cancel()
	if res := inst.Call(ctx, &sdk.Request{}); res.Err == nil {
		t.Fatalf("a call past its deadline answered %d %s", res.Response.Status, res.Response.Body)
	}
	inst.Close()
	close(h.release)
	again, err := e.Load(context.Background(), engine.AppRef{ID: 1, Slug: "demo"}, engine.Script{ScriptID: 1, Version: 1, Source: src}, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if res := again.Call(sdk.WithHost(context.Background(), h), &sdk.Request{}); string(res.Response.Body) != "late" {
		t.Errorf("the next call answered %v %s", res.Err, res.Response.Body)
	}
}
