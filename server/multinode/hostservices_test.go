package multinode_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/cluster/executors"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/server"
)

// servicesScript uses every SDK v2 host service; %[1]q is its own name,
// which /loop invokes.
const servicesScript = `package main

import (
	"fmt"
	"strconv"

	"picloud"
)

func Handle(req *picloud.Request) *picloud.Response {
	switch req.Path {
	case "/count":
		n, err := picloud.KV.Increment("hits", 1)
		if err != nil {
			return picloud.Text(500, err.Error())
		}
		return picloud.Text(200, strconv.FormatInt(n, 10))
	case "/hits":
		v, ok, err := picloud.KV.Get("hits")
		if err != nil || !ok {
			return picloud.Text(500, fmt.Sprint("no hits: ", ok, err))
		}
		return picloud.Text(200, string(v))
	case "/secret":
		v, ok := picloud.Secret("API_KEY")
		if !ok {
			return picloud.Text(404, "no secret")
		}
		fmt.Println("the key is", v)
		return picloud.Text(200, "secret of "+strconv.Itoa(len(v))+" bytes")
	case "/fetch":
		r, err := picloud.Fetch(&picloud.FetchRequest{URL: req.QueryParam("url")})
		if err != nil {
			return picloud.Text(502, err.Error())
		}
		return picloud.Text(200, strconv.Itoa(r.Status)+" "+string(r.Body))
	case "/invoke":
		r, err := picloud.Invoke(req.QueryParam("script"), &picloud.Request{Method: "GET", Path: "/hi"})
		if err != nil {
			return picloud.Text(500, err.Error())
		}
		return picloud.Text(r.Status, "callee said: "+string(r.Body))
	case "/loop":
		r, err := picloud.Invoke(%[1]q, &picloud.Request{Method: "GET", Path: "/loop"})
		if err != nil {
			return picloud.Text(508, err.Error())
		}
		return r
	}
	return picloud.Text(200, "hello via "+req.Trigger+" at "+req.Path)
}
`

// answer is res's status and body, for a failure message.
func answer(res *apiclient.ExecuteResult) string {
	if res == nil {
		return "no answer"
	}
	return fmt.Sprintf("%d %q", res.Status, res.Body)
}

// refusingResolver resolves no name: the test's fetches name an address.
type refusingResolver struct{}

func (refusingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, fmt.Errorf("test resolver: no such host %q", host)
}

// TestHostServicesOnRemoteExecutors: scripts whose executor slots n1
// places on n2 or n3 reach the same KV, secrets, outbound HTTP and
// Invoke as local ones, served through n1 (the node that called them):
// a counter incremented by concurrent calls spread over the nodes ends
// exact, a secret is read (and masked in the record), a fetch of a local
// server is recorded with the call, an Invoke runs the callee with
// trigger "invoke", and an Invoke loop stops at the depth limit; with
// scripts in the nodes' own process and in worker processes.
func TestHostServicesOnRemoteExecutors(t *testing.T) {
	for _, isolation := range []string{config.IsolationNone, config.IsolationProcess} {
		t.Run("isolation "+isolation, func(t *testing.T) { testHostServices(t, isolation) })
	}
}

func testHostServices(t *testing.T, isolation string) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from upstream")
	}))
	defer upstream.Close()
	var refused atomic.Int64
	// Fetches may reach private addresses, but the dialer connects to the
	// test server only: a broken guard fails the test, never the network.
	tweak := func(cfg *config.Config, opts *server.Options) {
		cfg.Executor.Isolation = isolation
		opts.WorkerCommand, opts.WorkerEnv = []string{os.Args[0]}, []string{envWorkerChild + "=1"}
		cfg.Server.FetchAllowPrivate = true
		opts.FetchResolver = refusingResolver{}
		opts.FetchDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != upstream.Listener.Addr().String() {
				refused.Add(1)
				return nil, errors.New("test dialer: refused " + addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	tg := testdb.Postgres(t)
	n1 := startNodeWith(t, tg, "n1", tweak)
	startNodeWith(t, tg, "n2", tweak, n1.Node().GossipAddr())
	startNodeWith(t, tg, "n3", tweak, n1.Node().GossipAddr())
	tok := login(t, n1)
	eventually(t, 10*time.Second, func() bool {
		st := statuses(clusterView(t, n1, tok))
		return st["n1"] == "alive" && st["n2"] == "alive" && st["n3"] == "alive"
	}, "three members alive on n1")
	client := apiclient.New(n1.AdminURL(), tok)
	ctx := context.Background()
	app, err := client.CreateApp(ctx, "svc", "Services")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-value-42"
	if _, err := client.SetSecret(ctx, "svc", "API_KEY", secret); err != nil {
		t.Fatal(err)
	}
	// remote creates a script of the app whose first executor slot n1
	// places on another node.
	remote := func(t *testing.T, prefix string) *apiclient.ScriptVersion {
		t.Helper()
		for i := range 20 {
			name := fmt.Sprintf("%s%d", prefix, i)
			sv, err := client.CreateScript(ctx, "svc", name, fmt.Sprintf(servicesScript, name))
			if err != nil {
				t.Fatal(err)
			}
			id := executors.Identity(engine.AppRef{ID: app.ID}, engine.Script{ScriptID: sv.ID, Version: sv.Version})
			if owner, _ := n1.Node().Owner(executors.Kind, id); owner != "n1" {
				return sv
			}
		}
		t.Fatal("20 scripts all placed on n1")
		return nil
	}
	// call runs sv once through n1, checks the answer and returns the
	// call's record; a script's first call runs on another node (its
	// first slot's).
	call := func(t *testing.T, sv *apiclient.ScriptVersion, path string, status int, body string, remote bool) *apiclient.Invocation {
		t.Helper()
		res, err := client.Execute(ctx, sv.ID, "GET", path, nil, nil)
		if err != nil || res.Status != status || !strings.Contains(string(res.Body), body) {
			t.Fatalf("GET %s: %v %s, want %d %q", path, err, answer(res), status, body)
		}
		var inv *apiclient.Invocation
		eventually(t, 5*time.Second, func() bool {
			inv, err = client.Invocation(ctx, res.RequestID)
			return err == nil
		}, "the record of "+res.RequestID)
		if remote && (inv.Node == "n1" || inv.Node == "") {
			t.Fatalf("GET %s ran on %q, want another node than n1", path, inv.Node)
		}
		return inv
	}

	t.Run("kv", func(t *testing.T) {
		sv := remote(t, "kv")
		before := n1.ExecutorCalls()
		const workers, each = 8, 25
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					res, err := client.Execute(ctx, sv.ID, "GET", "/count", nil, nil)
					if err != nil || res.Status != 200 {
						t.Errorf("/count: %v %s", err, answer(res))
						return
					}
				}
			})
		}
		wg.Wait()
		after := n1.ExecutorCalls()
		if after["n2"]+after["n3"] == before["n2"]+before["n3"] {
			t.Fatalf("no /count call ran on n2 or n3 (calls by node %v)", after)
		}
		call(t, sv, "/hits", 200, fmt.Sprint(workers*each), false)
	})

	t.Run("secret", func(t *testing.T) {
		inv := call(t, remote(t, "secret"), "/secret", 200, fmt.Sprintf("secret of %d bytes", len(secret)), true)
		if !strings.Contains(inv.Output, "the key is [secret API_KEY]") || strings.Contains(inv.Output, secret) {
			t.Fatalf("record output %q: want the secret read and masked", inv.Output)
		}
	})

	t.Run("fetch", func(t *testing.T) {
		url := "http://" + upstream.Listener.Addr().String() + "/hello"
		inv := call(t, remote(t, "fetch"), "/fetch?url="+url+"%3Ftoken%3Dabc", 200, "200 hello from upstream", true)
		if len(inv.Fetches) != 1 || inv.Fetches[0].URL != url || inv.Fetches[0].Status != 200 {
			t.Fatalf("record fetches %+v, want one of %s answered 200", inv.Fetches, url)
		}
		if refused.Load() != 0 {
			t.Fatalf("%d dials past the test server", refused.Load())
		}
	})

	t.Run("invoke", func(t *testing.T) {
		callee := remote(t, "callee")
		inv := call(t, remote(t, "caller"), "/invoke?script="+callee.Name, 200, "callee said: hello via invoke at /hi", true)
		invs, err := client.Invocations(ctx, apiclient.InvocationFilter{ScriptID: callee.ID})
		if err != nil || len(invs) != 1 || invs[0].Trigger != "invoke" || !strings.HasPrefix(invs[0].RequestID, inv.RequestID+".") {
			t.Fatalf("callee's records %+v, %v: want one, trigger invoke, under the caller's request id %s", invs, err, inv.RequestID)
		}
	})

	t.Run("depth limit", func(t *testing.T) {
		sv := remote(t, "loop")
		call(t, sv, "/loop", 508, "call depth limit of 4 reached", true)
		var invs []apiclient.Invocation
		eventually(t, 5*time.Second, func() bool {
			invs, err = client.Invocations(ctx, apiclient.InvocationFilter{ScriptID: sv.ID})
			return err == nil && len(invs) == 5
		}, "five records of the loop (depth 0 to 4)")
		for _, inv := range invs {
			if inv.Status != 508 {
				t.Errorf("loop record %s: status %d, want 508", inv.RequestID, inv.Status)
			}
		}
	})
}
