package actors

import (
	"sync"
	"time"
)

// Dispatcher defaults.
const (
	// DefaultThroughput is how many messages a mailbox processes before
	// its worker yields the processor.
	DefaultThroughput = 300
	// DefaultWorkerIdle is how long a parked worker waits for work
	// before it exits (give or take as much again).
	DefaultWorkerIdle = 30 * time.Second
)

// WorkerDispatcher is an actor.Dispatcher that runs mailboxes on
// long-lived goroutines. protoactor's default dispatcher starts a new
// goroutine per mailbox wake-up, whose small stack then grows again
// inside yaegi; here a wake-up is handed to a parked worker, and only
// when none is parked is a new one started.
//
// Schedule never blocks and never waits for a busy worker, so an actor
// that blocks (an executor running a script) cannot starve another.
// Parked workers are reused most-recently-parked first, which keeps the
// warm ones warm and lets the surplus exit after idleFor.
type WorkerDispatcher struct {
	throughput int
	idleFor    time.Duration

	mu     sync.Mutex
	parked []*worker // a stack: the last parked is handed work first
	// epoch counts reaper passes; a worker parked two epochs ago has
	// been idle for at least idleFor.
	epoch  uint64
	reaper *time.Timer // armed while a worker is parked
}

// worker is one long-lived goroutine; jobs carries its next job, or nil
// to make it exit.
type worker struct {
	jobs     chan func()
	parkedIn uint64 // the epoch it parked in
}

// NewWorkerDispatcher returns a dispatcher whose mailboxes process up to
// throughput messages per pass and whose workers exit after idleFor
// without work. Zero values take the defaults.
func NewWorkerDispatcher(throughput int, idleFor time.Duration) *WorkerDispatcher {
	if throughput <= 0 {
		throughput = DefaultThroughput
	}
	if idleFor <= 0 {
		idleFor = DefaultWorkerIdle
	}
	return &WorkerDispatcher{throughput: throughput, idleFor: idleFor}
}

// Throughput implements actor.Dispatcher.
func (d *WorkerDispatcher) Throughput() int { return d.throughput }

// Schedule implements actor.Dispatcher: it runs fn on a parked worker,
// or on a new one when none is parked.
func (d *WorkerDispatcher) Schedule(fn func()) {
	d.mu.Lock()
	if n := len(d.parked); n > 0 {
		w := d.parked[n-1]
		d.parked[n-1] = nil
		d.parked = d.parked[:n-1]
		d.mu.Unlock()
		w.jobs <- fn // buffered and empty: a parked worker holds no job
		return
	}
	d.mu.Unlock()
	go d.run(&worker{jobs: make(chan func(), 1)}, fn)
}

// Workers returns how many workers are parked, for tests and metrics.
func (d *WorkerDispatcher) Workers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.parked)
}

// run is a worker's loop: run the job, park, wait for the next one.
func (d *WorkerDispatcher) run(w *worker, fn func()) {
	for fn != nil {
		fn()
		fn = nil // do not keep the last mailbox alive while parked
		d.park(w)
		fn = <-w.jobs
	}
}

func (d *WorkerDispatcher) park(w *worker) {
	d.mu.Lock()
	w.parkedIn = d.epoch
	d.parked = append(d.parked, w)
	if d.reaper == nil {
		d.reaper = time.AfterFunc(d.idleFor, d.reap)
	}
	d.mu.Unlock()
}

// reap ends the workers parked since before the previous pass, and runs
// again while any worker is parked. The stack's bottom holds the workers
// parked longest, so the stale ones are a prefix of it.
func (d *WorkerDispatcher) reap() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.epoch++
	n := 0
	for n < len(d.parked) && d.parked[n].parkedIn+2 <= d.epoch {
		d.parked[n].jobs <- nil
		n++
	}
	rest := copy(d.parked, d.parked[n:])
	clear(d.parked[rest:])
	d.parked = d.parked[:rest]
	if len(d.parked) > 0 {
		d.reaper.Reset(d.idleFor)
	} else {
		d.reaper = nil
	}
}
