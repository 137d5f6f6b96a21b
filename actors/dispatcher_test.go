package actors_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/actors"
)

var _ actor.Dispatcher = (*actors.WorkerDispatcher)(nil)

func TestDispatcherRunsEverything(t *testing.T) {
	d := actors.NewWorkerDispatcher(0, 0)
	if d.Throughput() != actors.DefaultThroughput {
		t.Fatalf("throughput %d", d.Throughput())
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 1000 {
		wg.Add(1)
		d.Schedule(func() { n.Add(1); wg.Done() })
	}
	wg.Wait()
	if n.Load() != 1000 {
		t.Fatalf("ran %d of 1000", n.Load())
	}
}

func TestDispatcherBlockedJobDoesNotStarveOthers(t *testing.T) {
	d := actors.NewWorkerDispatcher(0, time.Minute)
	release := make(chan struct{})
	defer close(release)
	for range 4 {
		d.Schedule(func() { <-release }) // like executors running long scripts
	}
	done := make(chan struct{})
	d.Schedule(func() { close(done) })
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("a job waited behind blocked ones")
	}
}

func TestDispatcherReusesAndRetiresWorkers(t *testing.T) {
	d := actors.NewWorkerDispatcher(0, 20*time.Millisecond)
	before := runtime.NumGoroutine()
	for range 100 {
		done := make(chan struct{})
		d.Schedule(func() { close(done) })
		<-done
		// Wait for the worker to park so the next job can reuse it.
		eventually(t, waitFor, func() bool { return d.Workers() == 1 })
	}
	if g := runtime.NumGoroutine(); g > before+1 {
		t.Fatalf("sequential jobs left %d goroutines (before: %d)", g, before)
	}
	eventually(t, waitFor, func() bool { return d.Workers() == 0 && runtime.NumGoroutine() <= before })
}
