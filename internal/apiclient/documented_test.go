package apiclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/internal/apiclient"
)

// TestUsesOnlyDocumentedEndpoints calls every method of the client
// against a server that records what it is asked, and checks each admin
// request against the API's OpenAPI document.
func TestUsesOnlyDocumentedEndpoints(t *testing.T) {
	b, err := os.ReadFile("../../admin/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	type op struct {
		method string
		path   *regexp.Regexp
	}
	var documented []op
	param := regexp.MustCompile(`\\\{[a-z_]+\\\}`)
	for path, item := range spec.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(path), "[^/]+") + "$")
		for method := range item {
			documented = append(documented, op{strings.ToUpper(method), re})
		}
	}

	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/invocations/stream"):
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("id: 1\nevent: ready\ndata: {}\n\n"))
		case r.URL.Path == "/version":
			w.Write([]byte(`{"api":"v1"}`))
		default:
			w.Write([]byte(`{"items":[]}`))
		}
	}))
	defer srv.Close()
	c := apiclient.New(srv.URL, "tok")
	ctx := context.Background()
	calls := []func() error{
		func() error { _, err := c.Login(ctx, "u", "p"); return err },
		func() error { return c.Logout(ctx) },
		func() error { _, err := c.Me(ctx); return err },
		func() error { _, err := c.Tokens(ctx); return err },
		func() error { _, err := c.CreateToken(ctx, "ci", ""); return err },
		func() error { return c.RevokeToken(ctx, 1) },
		func() error { _, err := c.Apps(ctx); return err },
		func() error { _, err := c.App(ctx, "shop"); return err },
		func() error { _, err := c.CreateApp(ctx, "shop", ""); return err },
		func() error { _, err := c.UpdateApp(ctx, "shop", apiclient.AppChange{}); return err },
		func() error { return c.DeleteApp(ctx, "shop") },
		func() error { _, err := c.Secrets(ctx, "shop"); return err },
		func() error { _, err := c.SetSecret(ctx, "shop", "API_KEY", "v"); return err },
		func() error { return c.DeleteSecret(ctx, "shop", "API_KEY") },
		func() error { _, err := c.Domains(ctx, "shop"); return err },
		func() error { _, err := c.Scripts(ctx, "shop"); return err },
		func() error { _, err := c.Script(ctx, 1); return err },
		func() error { _, err := c.CreateScript(ctx, "shop", "s", "src"); return err },
		func() error { _, err := c.UpdateScript(ctx, 1, "src"); return err },
		func() error { return c.DeleteScript(ctx, 1) },
		func() error { _, err := c.AppRoutes(ctx, "shop"); return err },
		func() error { _, err := c.CreateRoute(ctx, 1, "GET", "/"); return err },
		func() error { return c.DeleteRoute(ctx, 1) },
		func() error {
			_, err := c.Invocations(ctx, apiclient.InvocationFilter{App: "shop", Status: "5xx", Limit: 5})
			return err
		},
		func() error { _, err := c.Invocation(ctx, "req-1"); return err },
		func() error { _, err := c.Config(ctx); return err },
		func() error { _, err := c.ServerInfo(ctx); return err },
		func() error {
			sctx, cancel := context.WithCancel(ctx)
			return c.StreamInvocations(sctx, apiclient.InvocationFilter{}, apiclient.StreamOptions{After: -1, Ready: cancel},
				func(apiclient.Invocation) error { return nil })
		},
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	for _, a := range asked {
		method, path, _ := strings.Cut(a, " ")
		rest, ok := strings.CutPrefix(path, apiclient.Prefix)
		if !ok {
			if path != "/version" {
				t.Errorf("%s: neither the admin API nor /version", a)
			}
			continue
		}
		found := false
		for _, op := range documented {
			found = found || (op.method == method && op.path.MatchString(rest))
		}
		if !found {
			t.Errorf("%s is not in the OpenAPI document", a)
		}
	}
	if len(asked) < len(calls) {
		t.Fatalf("the server saw %d requests for %d calls", len(asked), len(calls))
	}
}
