package actors_test

import (
	"context"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// BenchmarkInvokeHello measures Runtime -> router -> executor -> Reply
// for a route bound to a script that answers "hello".
func BenchmarkInvokeHello(b *testing.B) {
	rt := newRuntime(b)
	pid := startApp(b, rt, snapshot(actors.Limits{},
		[]actors.ScriptVersion{script(1, 1, helloScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/hello/:name", ScriptID: 1}))
	req := get("/hello/world")
	if res := call(b, rt, pid, req, 0); res.Status != 200 {
		b.Fatalf("warm-up: %d %s", res.Status, res.ErrMessage)
	}
	b.Run("sandbox-only", func(b *testing.B) {
		// The floor: the same call straight on an Instance, no actors.
		in, err := sandbox.New(context.Background(), helloScript, sandbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		sreq := &sdk.Request{Method: "GET", Path: "/hello/world", Params: map[string]string{"name": "world"}}
		b.ReportAllocs()
		for b.Loop() {
			if res := in.Call(context.Background(), sreq); res.Response.Status != 200 {
				b.Fatal(res.Panic)
			}
		}
	})
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			reply := actors.NewReply()
			rt.Send(pid, &actors.Invoke{Request: req, Reply: reply})
			if res := <-reply.C(); res.Status != 200 {
				b.Fatal(res.ErrMessage)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(32) // like ingress under wrk -c64 on a small machine
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				reply := actors.NewReply()
				rt.Send(pid, &actors.Invoke{Request: req, Reply: reply})
				if res := <-reply.C(); res.Status != 200 {
					b.Error(res.ErrMessage)
					return
				}
			}
		})
	})
}

// grow uses about n KiB of stack, like a call into yaegi does.
//
//go:noinline
func grow(n int) byte {
	var buf [1024]byte
	if n <= 1 {
		return buf[n]
	}
	return grow(n-1) + buf[0]
}

// BenchmarkDispatcher compares a wake-up on WorkerDispatcher with
// protoactor's default goroutine-per-wake-up dispatcher, for an empty job
// and for a job that needs a 32 KiB stack.
func BenchmarkDispatcher(b *testing.B) {
	dispatchers := []struct {
		name string
		d    actor.Dispatcher
	}{
		{"worker", actors.NewWorkerDispatcher(0, 0)},
		{"goroutine", actor.NewDefaultDispatcher(actors.DefaultThroughput)},
	}
	jobs := []struct {
		name string
		fn   func()
	}{
		{"empty", func() {}},
		{"stack32k", func() { grow(32) }},
	}
	for _, d := range dispatchers {
		for _, job := range jobs {
			b.Run(d.name+"/"+job.name, func(b *testing.B) {
				b.ReportAllocs()
				var wg sync.WaitGroup
				run := func() { job.fn(); wg.Done() }
				for b.Loop() {
					wg.Add(1)
					d.d.Schedule(run)
					wg.Wait()
				}
			})
		}
	}
}
