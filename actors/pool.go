package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/route"
)

// This file holds the router's bookkeeping of its executors and the
// messages between a router and its executors. All of it is router
// state: only the router actor reads or writes it.

// execute asks an executor to run one Invoke. At most one is ever
// outstanding per executor: the router sends the next only after the
// executor said it is idle.
type execute struct {
	inv     *Invoke
	routeID int64
	params  route.Params
	queued  time.Time // when it joined its pool's queue
	// retried: the executor sent it once already, to a worker that died
	// before it got it (see executor.callOver).
	retried bool
}

// executorIdle is what an executor tells its router after every execute,
// once the Result has been written. Each executor sends one of two
// values: with direct set when its instance takes started calls
// (engine.Starter), which the router may then start itself.
type executorIdle struct {
	id     uint64
	direct *executor
}

// scriptLoadFailed is what an executor tells its router, before it
// answers the call, when it answered a call with its script's load
// failure. The router counts it to park a script that cannot load.
type scriptLoadFailed struct {
	id    uint64
	cause string
}

// expireQueued asks the router to answer the requests that waited too
// long for an executor.
type expireQueued struct{}

// sweepIdle asks the router to stop executors idle for too long.
type sweepIdle struct{}

// drain asks a router to finish the requests it holds and stop.
type drain struct{}

// executorRef is the router's view of one executor actor.
type executorRef struct {
	id   uint64
	slot int // index among its pool's executors (engine.Script.Slot)
	pid  *actor.PID
	pool *executorPool
	job  *execute // in flight, or nil when idle
	// direct, while the executor is idle, is the executor whose calls the
	// router starts on its own goroutine (see appRouter.run); nil: jobs
	// go to its mailbox.
	direct    *executor
	idleSince time.Time
}

// executorPool is the executors of one script version, and the requests
// waiting for one of them.
type executorPool struct {
	script ScriptVersion
	app    string
	limits Limits
	// live is false once a newer snapshot replaced this version: the pool
	// then serves what it holds and its executors stop.
	live  bool
	idle  []*executorRef // a stack: the last to go idle is used first
	size  int            // executors, idle and busy
	slots []bool         // slots[i]: an executor holds slot i
	queue jobQueue
	crash crashRecord
}

func newExecutorPool(script ScriptVersion, app string, limits Limits) *executorPool {
	return &executorPool{script: script, app: app, limits: limits, live: true}
}

// serves reports whether p can keep serving script for app under limits.
func (p *executorPool) serves(script ScriptVersion, app string, limits Limits) bool {
	return p.script.Version == script.Version && p.script.Hash == script.Hash &&
		p.script.Source == script.Source && p.app == app && p.limits == limits
}

// takeSlot is the lowest slot no executor of p holds, now held.
func (p *executorPool) takeSlot() int {
	for i, used := range p.slots {
		if !used {
			p.slots[i] = true
			return i
		}
	}
	p.slots = append(p.slots, true)
	return len(p.slots) - 1
}

// freeSlot lets go of slot i.
func (p *executorPool) freeSlot(i int) {
	if i >= 0 && i < len(p.slots) {
		p.slots[i] = false
	}
}

// popIdle takes the most recently idle executor, or nil.
func (p *executorPool) popIdle() *executorRef {
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	ex := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return ex
}

// takeIdleBefore removes and returns the executors idle since before
// cutoff (the bottom of the stack).
func (p *executorPool) takeIdleBefore(cutoff time.Time) []*executorRef {
	n := 0
	for n < len(p.idle) && p.idle[n].idleSince.Before(cutoff) {
		n++
	}
	if n == 0 {
		return nil
	}
	old := make([]*executorRef, n)
	copy(old, p.idle[:n])
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	return old
}

// jobQueue is a FIFO of waiting requests on a ring buffer.
type jobQueue struct {
	buf  []*execute
	head int
	n    int
}

func (q *jobQueue) len() int { return q.n }

func (q *jobQueue) push(j *execute) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = j
	q.n++
}

// peek returns the oldest request without removing it, or nil.
func (q *jobQueue) peek() *execute {
	if q.n == 0 {
		return nil
	}
	return q.buf[q.head]
}

// pop returns the oldest request, or nil.
func (q *jobQueue) pop() *execute {
	if q.n == 0 {
		return nil
	}
	j := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return j
}

func (q *jobQueue) grow() {
	size := 2 * len(q.buf)
	if size == 0 {
		size = 8
	}
	buf := make([]*execute, size)
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
