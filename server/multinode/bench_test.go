package multinode_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/picloud/picloud/cluster"
	"github.com/picloud/picloud/cluster/executors"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

const helloScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "hello")
}
`

// BenchmarkEngineCall is one call of a hello script through n1's
// cluster engine: "local" on a slot n1 owns (the fast path), "remote" on
// a slot another node owns (a round trip over protoactor remote, the
// owner's in-process engine).
//
//	go test -run '^$' -bench EngineCall ./server/multinode/
func BenchmarkEngineCall(b *testing.B) {
	logger := slog.New(slog.DiscardHandler)
	var nodes []*cluster.Node
	for i, name := range []string{"n1", "n2"} {
		cfg := config.Default().Cluster
		cfg.Enabled, cfg.NodeName = true, name
		cfg.Gossip, cfg.Remote = "127.0.0.1:0", "127.0.0.1:0"
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		n, err := cluster.Start(context.Background(), cluster.Options{Config: cfg, Logger: logger,
			Kinds: []cluster.Kind{executors.ClusterKind(engine.InProcess{}, logger)}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
	}
	for {
		if _, ok := nodes[0].Owner(executors.Kind, "x"); ok && len(nodes[0].Members()) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	eng := executors.New(nodes[0], engine.InProcess{}, logger)
	for _, where := range []string{"local", "remote"} {
		b.Run(where, func(b *testing.B) {
			script := engine.Script{ScriptID: 1, Name: "hello", Version: 1, Source: helloScript}
			for slot := 0; ; slot++ {
				script.Slot = slot
				owner, _ := nodes[0].Owner(executors.Kind, executors.Identity(engine.AppRef{ID: 1}, script))
				if (owner == "n1") == (where == "local") {
					break
				}
			}
			inst, err := eng.Load(context.Background(), engine.AppRef{ID: 1, Slug: "bench"}, script, sandbox.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close()
			req := &sdk.Request{Method: "GET", Path: "/", Headers: map[string]string{"Accept": "*/*"}}
			b.ReportAllocs()
			for b.Loop() {
				if res := inst.Call(context.Background(), req); res.Err != nil || res.Response.Status != 200 {
					b.Fatalf("%v %d", res.Err, res.Response.Status)
				}
			}
		})
	}
}
