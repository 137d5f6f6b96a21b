package multinode_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/cluster/executors"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/internal/apiclient"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/server"
)

// slowScript busy-waits for the milliseconds its path ends with
// ("/250"), then answers.
const slowScript = `package main

import (
	"picloud"
	"strconv"
	"strings"
	"time"
)

func Handle(req *picloud.Request) *picloud.Response {
	ms, _ := strconv.Atoi(req.Path[strings.LastIndex(req.Path, "/")+1:])
	end := time.Now().Add(time.Duration(ms) * time.Millisecond)
	for time.Now().Before(end) {
	}
	return picloud.Text(200, "done")
}
`

// threeNodes starts n1, n2 and n3 on one database, n2 and n3 joining
// n1, and waits until n1 sees all three as executor members.
func threeNodes(t *testing.T) (nodes []*server.Server, client *apiclient.Client) {
	t.Helper()
	tg := testdb.Postgres(t)
	a := startNode(t, tg, "n1")
	b := startNode(t, tg, "n2", a.Node().GossipAddr())
	c := startNode(t, tg, "n3", a.Node().GossipAddr())
	tok := login(t, a)
	eventually(t, 5*time.Second, func() bool {
		st := statuses(clusterView(t, a, tok))
		return st["n1"] == "alive" && st["n2"] == "alive" && st["n3"] == "alive"
	}, "three members alive on n1")
	return []*server.Server{a, b, c}, apiclient.New(a.AdminURL(), tok)
}

// TestHotScriptRunsOnEveryNode sends every call of one script to n1,
// eight at a time: its executor slots are placed over the three nodes,
// and the calls run on more than one of them (on all three unless the
// hash puts the eight slots on two nodes).
func TestHotScriptRunsOnEveryNode(t *testing.T) {
	nodes, client := threeNodes(t)
	ctx := context.Background()
	if _, err := client.CreateApp(ctx, "hot", "Hot"); err != nil {
		t.Fatal(err)
	}
	sv, err := client.CreateScript(ctx, "hot", "slow", slowScript, "")
	if err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				res, err := client.Execute(ctx, sv.ID, "GET", "/100", nil, nil)
				if err != nil || res.Status != 200 {
					t.Errorf("round %d: %v %+v", round, err, res)
				}
			})
		}
		wg.Wait()
	}
	calls := nodes[0].ExecutorCalls()
	ran := 0
	for _, n := range calls {
		if n > 0 {
			ran++
		}
	}
	t.Logf("calls by node, all received by n1: %v", calls)
	if ran < 2 {
		t.Fatalf("calls ran on %d node(s) (%v), want several", ran, calls)
	}
}

// TestExecutorNodeDiesMidCall stops (as kill -9 would: no leave) the
// node running a call: the caller gets 502 within about the 2 s failure
// detection, never a hang, and the next calls succeed on live members.
func TestExecutorNodeDiesMidCall(t *testing.T) {
	nodes, client := threeNodes(t)
	ctx := context.Background()
	app, err := client.CreateApp(ctx, "dies", "Dies")
	if err != nil {
		t.Fatal(err)
	}
	// A script whose first slot n1 places on another node.
	var sv *apiclient.ScriptVersion
	var owner string
	for i := 0; owner == "" || owner == "n1"; i++ {
		if i == 20 {
			t.Fatal("20 scripts all placed on n1")
		}
		if sv, err = client.CreateScript(ctx, "dies", "s"+string(rune('a'+i)), slowScript, ""); err != nil {
			t.Fatal(err)
		}
		id := executors.Identity(engine.AppRef{ID: app.ID}, engine.Script{ScriptID: sv.ID, Version: sv.Version})
		owner, _ = nodes[0].Node().Owner(executors.Kind, id)
	}
	if res, err := client.Execute(ctx, sv.ID, "GET", "/1", nil, nil); err != nil || res.Status != 200 {
		t.Fatalf("first call: %v %+v", err, res)
	}
	var victim *server.Server
	for _, s := range nodes {
		if s.Node().Name() == owner {
			victim = s
		}
	}
	before := nodes[0].ExecutorCalls()[owner]

	type outcome struct {
		res  *apiclient.ExecuteResult
		err  error
		took time.Duration
	}
	done := make(chan outcome, 1)
	go func() {
		start := time.Now()
		res, err := client.Execute(ctx, sv.ID, "GET", "/5000", nil, nil)
		done <- outcome{res, err, time.Since(start)}
	}()
	eventually(t, 5*time.Second, func() bool { return nodes[0].ExecutorCalls()[owner] > before }, "the slow call sent to "+owner)
	killed := time.Now()
	go victim.Node().Close()
	select {
	case o := <-done:
		// Execute is an admin call: its error says what happened.
		if o.err != nil || o.res.Status != 502 || !bytes.Contains(o.res.Body, []byte(`"code":"executor_lost"`)) ||
			!bytes.Contains(o.res.Body, []byte("the node running this script's executor went away")) {
			t.Fatalf("call under the dying node: %v %+v %s, want 502 executor_lost", o.err, o.res, o.res.Body)
		}
		t.Logf("502 after %s (%s after the kill)", o.took, time.Since(killed))
	case <-time.After(4 * time.Second):
		t.Fatal("no answer within 4 s of the kill: the call hangs on a dead node")
	}
	for i := range 3 {
		res, err := client.Execute(ctx, sv.ID, "GET", "/1", nil, nil)
		if err != nil || res.Status != 200 {
			t.Fatalf("call %d after the death: %v %+v", i, err, res)
		}
	}
}
