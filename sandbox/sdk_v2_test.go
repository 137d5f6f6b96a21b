package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
)

// memHost is an sdk.Host in memory, for one app.
type memHost struct {
	mu      sync.Mutex
	kv      map[string][]byte
	ttls    map[string]time.Duration
	secrets map[string]string
	fetches []string
	invokes []string
	ctxs    []context.Context
}

func newMemHost() *memHost {
	return &memHost{kv: map[string][]byte{}, ttls: map[string]time.Duration{}, secrets: map[string]string{"API_KEY": "k-123"}}
}

func (h *memHost) saw(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ctxs = append(h.ctxs, ctx)
}

func (h *memHost) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	h.saw(ctx)
	v, ok := h.kv[key]
	return v, ok, nil
}

func (h *memHost) KVSet(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	h.saw(ctx)
	if len(key) > 512 {
		return errors.New("key too long")
	}
	h.kv[key], h.ttls[key] = append([]byte(nil), value...), ttl
	return nil
}

func (h *memHost) KVDelete(ctx context.Context, key string) error {
	h.saw(ctx)
	delete(h.kv, key)
	return nil
}

func (h *memHost) KVList(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	h.saw(ctx)
	var keys []string
	for k := range h.kv {
		if strings.HasPrefix(k, prefix) && k > cursor {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	next := ""
	if limit > 0 && len(keys) > limit {
		keys, next = keys[:limit], keys[limit-1]
	}
	return keys, next, nil
}

func (h *memHost) KVIncrement(ctx context.Context, key string, delta int64) (int64, error) {
	h.saw(ctx)
	var n int64
	fmt.Sscan(string(h.kv[key]), &n)
	n += delta
	h.kv[key] = []byte(fmt.Sprint(n))
	return n, nil
}

func (h *memHost) Secret(ctx context.Context, name string) (string, bool, error) {
	h.saw(ctx)
	if name == "BROKEN" {
		return "", false, errors.New("the store is down")
	}
	v, ok := h.secrets[name]
	return v, ok, nil
}

func (h *memHost) Fetch(ctx context.Context, req *sdk.FetchRequest) (*sdk.FetchResponse, error) {
	h.saw(ctx)
	h.fetches = append(h.fetches, req.Method+" "+req.URL)
	if strings.Contains(req.URL, "127.0.0.1") {
		return nil, errors.New("picloud.Fetch: refused: 127.0.0.1 is a loopback address")
	}
	return &sdk.FetchResponse{Status: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("fetched " + req.URL)}, nil
}

func (h *memHost) Invoke(ctx context.Context, script string, req *sdk.Request) (*sdk.Response, error) {
	h.saw(ctx)
	h.invokes = append(h.invokes, script+" "+req.Method+" "+req.Path)
	return &sdk.Response{Status: 201, Body: []byte("from " + script)}, nil
}

const sdkV2Script = `package main

import (
	"strings"
	"time"

	"picloud"
)

type profile struct {
	Name  string
	Score int
}

func Handle(req *picloud.Request) *picloud.Response {
	out := []string{"trigger=" + req.Trigger}
	if err := picloud.KV.Set("user:1", []byte("alice"), time.Minute); err != nil {
		return picloud.Text(500, err.Error())
	}
	v, ok, err := picloud.KV.Get("user:1")
	out = append(out, "get="+string(v), "ok="+boolText(ok), "err="+errText(err))
	_, ok, _ = picloud.KV.Get("nope")
	out = append(out, "missing="+boolText(ok))
	n, _ := picloud.KV.Increment("hits", 2)
	n, _ = picloud.KV.Increment("hits", 3)
	out = append(out, "hits="+itoa(n))
	picloud.KV.SetJSON("profile", profile{Name: "bob", Score: 7}, 0)
	var p profile
	found, err := picloud.KV.GetJSON("profile", &p)
	out = append(out, "json="+p.Name+"/"+itoa(int64(p.Score))+"/"+boolText(found)+"/"+errText(err))
	keys, cursor, _ := picloud.KV.List("user:", "", 10)
	out = append(out, "keys="+strings.Join(keys, ",")+" cursor="+cursor)
	picloud.KV.Delete("user:1")
	_, ok, _ = picloud.KV.Get("user:1")
	out = append(out, "deleted="+boolText(!ok))
	if err := picloud.KV.Set("k", nil, -time.Second); err != nil {
		out = append(out, "negative ttl refused")
	}
	key, ok := picloud.Secret("API_KEY")
	out = append(out, "secret="+key+"/"+boolText(ok))
	_, ok = picloud.Secret("NONE")
	out = append(out, "no secret="+boolText(!ok))
	_, ok = picloud.Secret("BROKEN")
	resp, err := picloud.Fetch(&picloud.FetchRequest{URL: "https://api.example.com/x"})
	out = append(out, "fetch="+string(resp.Body)+"/"+itoa(int64(resp.Status))+"/"+resp.Header("content-type")+"/"+errText(err))
	_, err = picloud.Fetch(&picloud.FetchRequest{Method: "POST", URL: "http://127.0.0.1/"})
	out = append(out, "refused="+errText(err))
	r, err := picloud.Invoke("other", &picloud.Request{Method: "GET", Path: "/x"})
	out = append(out, "invoke="+string(r.Body)+"/"+itoa(int64(r.Status))+"/"+errText(err))
	return picloud.Text(200, strings.Join(out, "\n"))
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func errText(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func itoa(n int64) string {
	s := ""
	if n == 0 {
		return "0"
	}
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
`

func TestSDKv2ReachesTheHost(t *testing.T) {
	h := newMemHost()
	in := newInstance(t, sdkV2Script, Options{})
	type ctxKey struct{}
	ctx := context.WithValue(sdk.WithHost(context.Background(), h), ctxKey{}, "the call's")
	res := in.Call(ctx, &sdk.Request{Method: "GET", Path: "/", Trigger: sdk.TriggerSchedule})
	if res.Err != nil || res.Panic != nil {
		t.Fatalf("Call: %v %v", res.Err, res.Panic)
	}
	want := []string{
		"trigger=schedule", "get=alice", "ok=true", "err=nil", "missing=false", "hits=5",
		"json=bob/7/true/nil", "keys=user:1 cursor=", "deleted=true", "negative ttl refused",
		"secret=k-123/true", "no secret=true",
		"fetch=fetched https://api.example.com/x/200/text/plain/nil",
		"refused=picloud.Fetch: refused: 127.0.0.1 is a loopback address",
		"invoke=from other/201/nil",
	}
	got := string(res.Response.Body)
	for _, w := range want {
		if !strings.Contains(got, w+"\n") && !strings.HasSuffix(got, w) {
			t.Errorf("the script answered\n%s\nwithout %q", got, w)
		}
	}
	if h.ttls["user:1"] != time.Minute {
		t.Errorf("ttl %s reached the host, want 1m", h.ttls["user:1"])
	}
	if len(h.invokes) != 1 || h.invokes[0] != "other GET /x" || len(h.fetches) != 2 {
		t.Errorf("invokes %v, fetches %v", h.invokes, h.fetches)
	}
	for _, c := range h.ctxs {
		if c.Value(ctxKey{}) != "the call's" {
			t.Fatal("a host call did not get the call's context")
		}
	}
	if !strings.Contains(res.Output, `picloud.Secret("BROKEN"): the store is down`) {
		t.Errorf("a secret that could not be read is not reported in the output: %q", res.Output)
	}
}

// TestSDKv2WithoutHost: outside a call with a Host, the SDK v2 calls
// answer sdk.ErrNoHost; nothing crashes, at load or in a call.
func TestSDKv2WithoutHost(t *testing.T) {
	src := `package main

import "picloud"

var atLoad = loadErr()

func loadErr() string {
	_, _, err := picloud.KV.Get("x")
	return err.Error()
}

func Handle(req *picloud.Request) *picloud.Response {
	_, err := picloud.KV.Increment("n", 1)
	_, ferr := picloud.Fetch(&picloud.FetchRequest{URL: "https://example.com"})
	_, ierr := picloud.Invoke("x", nil)
	v, ok := picloud.Secret("A")
	return picloud.Text(200, atLoad+"|"+err.Error()+"|"+ferr.Error()+"|"+ierr.Error()+"|"+v+"|"+boolText(ok))
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
`
	if err := Check(context.Background(), src); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res := newInstance(t, src, Options{}).Call(context.Background(), nil)
	if res.Err != nil || res.Panic != nil {
		t.Fatalf("Call: %v %v", res.Err, res.Panic)
	}
	body := string(res.Response.Body)
	for _, w := range []string{"picloud.KV.Get: not available here", "picloud.KV.Increment: not available", "picloud.Fetch: not available", "picloud.Invoke: not available", "||false"} {
		if !strings.Contains(body, w) {
			t.Errorf("answer %q lacks %q", body, w)
		}
	}
}

// TestSDKv2KVIsPerInterpreter: a script that assigns picloud.KV changes
// only what it sees (its own calls fail), and other interpreters still
// reach their Host.
func TestSDKv2KVIsPerInterpreter(t *testing.T) {
	src := handler(``, `	picloud.KV = picloud.KVNamespace{}
	_, _, err := picloud.KV.Get("x")
	return picloud.Text(200, err.Error())`)
	h := newMemHost()
	res := newInstance(t, src, Options{}).Call(sdk.WithHost(context.Background(), h), nil)
	if res.Response.Status == 200 && !strings.Contains(string(res.Response.Body), "not available") {
		t.Errorf("a zero KVNamespace answered %q", res.Response.Body)
	}
	other := newInstance(t, handler(``, `	v, ok, _ := picloud.KV.Get("a")
	return picloud.Text(200, string(v)+boolText(ok))
}

func boolText(b bool) string {
	if b {
		return "yes"
	}
	return "no"`), Options{})
	h.kv["a"] = []byte("1")
	if res := other.Call(sdk.WithHost(context.Background(), h), nil); string(res.Response.Body) != "1yes" {
		t.Errorf("another interpreter answered %q", res.Response.Body)
	}
}
