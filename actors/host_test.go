package actors_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/sandbox/sdk"
)

// secretHost is a CallHost whose only secret is TOKEN; it masks what it
// handed out and records its scope.
type secretHost struct {
	sdk.Host
	scope actors.CallScope
	read  []string
}

func (h *secretHost) Secret(_ context.Context, name string) (string, bool, error) {
	if name != "TOKEN" {
		return "", false, nil
	}
	h.read = append(h.read, "tok-s3cr3t")
	return "tok-s3cr3t", true, nil
}

func (h *secretHost) Mask(s string) string {
	for _, v := range h.read {
		s = strings.ReplaceAll(s, v, "[secret]")
	}
	return s
}

func (h *secretHost) Fetches() []actors.FetchRecord {
	return []actors.FetchRecord{{Method: "GET", URL: "https://api.example.com/x", Status: 200}}
}

type hostProvider struct {
	mu     sync.Mutex
	scopes []actors.CallScope
}

func (p *hostProvider) Open(scope actors.CallScope) actors.CallHost {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scopes = append(p.scopes, scope)
	return &secretHost{scope: scope}
}

// TestCallsGetAHost: every call gets a Host scoped to its app, script
// and trigger; the secrets it read are masked in its output and error,
// and its fetches come back with the Result.
func TestCallsGetAHost(t *testing.T) {
	hosts := &hostProvider{}
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithHosts(hosts))
	t.Cleanup(rt.Shutdown)
	src := `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	tok, _ := picloud.Secret("TOKEN")
	picloud.Log("using", tok, "for", req.Trigger)
	if req.Path == "/panic" {
		panic("bad token " + tok)
	}
	return picloud.Text(200, req.Trigger)
}
`
	limits := actors.Limits{MaxConcurrency: 1, QueueLimit: 4, QueueTimeout: time.Second, Timeout: 5 * time.Second, IdleTimeout: time.Minute, CrashLimit: 10, CrashWindow: time.Minute}
	pid := startApp(t, rt, snapshot(limits, []actors.ScriptVersion{script(1, 1, src)}))

	req := get("/")
	req.Trigger, req.Depth = sdk.TriggerInvoke, 2
	res := call(t, rt, pid, req, 1)
	if res.Status != 200 || string(res.Body) != "invoke" {
		t.Fatalf("result %d %q %s", res.Status, res.Body, res.ErrMessage)
	}
	if strings.Contains(res.Output, "tok-s3cr3t") || !strings.Contains(res.Output, "using [secret] for invoke") {
		t.Errorf("output %q: the secret is not masked", res.Output)
	}
	if len(res.Fetches) != 1 || res.Fetches[0].URL != "https://api.example.com/x" {
		t.Errorf("fetches %+v", res.Fetches)
	}
	res = call(t, rt, pid, get("/panic"), 1)
	if res.ErrCode != actors.CodePanic || strings.Contains(res.ErrMessage, "tok-s3cr3t") || !strings.Contains(res.ErrMessage, "bad token [secret]") {
		t.Errorf("panic %s: %q, want the secret masked", res.ErrCode, res.ErrMessage)
	}
	hosts.mu.Lock()
	defer hosts.mu.Unlock()
	want := actors.CallScope{AppID: 1, App: "demo", ScriptID: 1, Script: "scriptb", RequestID: "req-1", Trigger: "invoke", Depth: 2}
	if len(hosts.scopes) != 2 || hosts.scopes[0] != want || hosts.scopes[1].Trigger != sdk.TriggerHTTP {
		t.Errorf("scopes %+v, want %+v then an http call", hosts.scopes, want)
	}
}
