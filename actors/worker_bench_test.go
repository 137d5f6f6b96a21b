package actors_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/worker"
)

// envWorker makes the test binary act as `picloud worker`, for the
// benchmarks through a real worker process.
const envWorker = "PICLOUD_ACTORS_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) == "1" {
		opts, err := worker.ChildOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunChild(context.Background(), opts))
	}
	os.Exit(m.Run())
}

// BenchmarkInvokeWorker measures Runtime -> router -> executor -> worker
// process -> Reply for a route bound to a script that answers "hello":
// the server's part of a request with process isolation, without HTTP.
func BenchmarkInvokeWorker(b *testing.B) {
	eng, err := worker.NewEngine(worker.Options{Command: []string{os.Args[0]}, Env: []string{envWorker + "=1"},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	rt := actors.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)), actors.WithEngine(eng))
	defer eng.Close()
	defer rt.Shutdown()
	pid := startApp(b, rt, snapshot(actors.Limits{MaxConcurrency: 16},
		[]actors.ScriptVersion{script(1, 1, helloScript)},
		actors.Route{ID: 1, Method: "GET", Path: "/hello/:name", ScriptID: 1}))
	req := get("/hello/world")
	if res := call(b, rt, pid, req, 0); res.Status != 200 {
		b.Fatalf("warm-up: %d %s", res.Status, res.ErrMessage)
	}
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
		b.SetParallelism(8) // 16 callers on 2 cores: every executor busy
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
