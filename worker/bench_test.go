package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

// benchRequest is a typical request as a script sees it: a browser's
// headers, a route parameter, a query parameter and a small body.
func benchRequest() *sdk.Request {
	return &sdk.Request{
		Method: "POST", Path: "/hello/world", Host: "demo.example.com",
		Params: map[string]string{"name": "world"},
		Query:  map[string][]string{"page": {"2"}},
		Headers: map[string]string{
			"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Accept-Encoding": "gzip, deflate, br",
			"Accept-Language": "en-GB,en;q=0.5",
			"Content-Type":    "application/json",
			"Content-Length":  "64",
			"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
			"X-Request-Id":    "01J9Z7R7E3W0P5QK3V2M1N8B4C",
		},
		Body:      []byte(`{"greeting":"hello","name":"world","count":42,"tags":["a","b"]}`),
		RequestID: "01J9Z7R7E3W0P5QK3V2M1N8B4C",
		App:       "demo",
	}
}

// BenchmarkEngineCall is one call through a real worker process: encode,
// the socket both ways, decode, and the script itself. parallel-4 keeps
// four instances of the app's worker busy at once.
func BenchmarkEngineCall(b *testing.B) {
	e, err := worker.NewEngine(worker.Options{
		Command: []string{os.Args[0]},
		Env:     []string{envChild + "=1"},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	const instances = 4
	insts := make([]engine.Instance, instances)
	for i := range insts {
		insts[i], err = e.Load(context.Background(), engine.AppRef{ID: 1, Slug: "bench"}, engine.Script{ScriptID: 1, Version: 1, Source: hello}, sandbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer insts[i].Close()
	}
	call := func(b *testing.B, inst engine.Instance, req *sdk.Request) {
		if res := inst.Call(context.Background(), req); res.Err != nil || res.Response.Status != 200 {
			b.Fatalf("call: %+v", res)
		}
	}
	b.Run("serial", func(b *testing.B) {
		req := benchRequest()
		b.ReportAllocs()
		for b.Loop() {
			call(b, insts[0], req)
		}
	})
	b.Run(fmt.Sprintf("parallel-%d", instances), func(b *testing.B) {
		// An instance takes one call at a time: callers borrow one.
		free := make(chan engine.Instance, instances)
		for _, inst := range insts {
			free <- inst
		}
		b.ReportAllocs()
		b.SetParallelism(instances)
		b.RunParallel(func(pb *testing.PB) {
			req := benchRequest()
			for pb.Next() {
				inst := <-free
				call(b, inst, req)
				free <- inst
			}
		})
	})
}
