package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A request waits in its pool's queue for an executor at most
// Limits.QueueTimeout: then it is answered 503 saturated, as if the
// queue had been full, rather than left to wait until its caller gives
// up. One timer per router, armed only while something is queued.

// armExpiry makes sure the queues are checked within d.
func (r *appRouter) armExpiry(ctx actor.Context, d time.Duration) {
	if r.expiry != nil {
		return
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	r.expiry = time.AfterFunc(d, func() { root.Send(self, &expireQueued{}) })
}

// expireQueued answers the requests that waited longer than their pool's
// queue timeout, and arms the next check while some remain queued.
func (r *appRouter) expireQueued(ctx actor.Context) {
	r.expiry = nil
	now := time.Now()
	next := time.Duration(-1)
	for _, pool := range r.pools() {
		cutoff := now.Add(-pool.limits.QueueTimeout)
		for job := pool.queue.peek(); job != nil && !job.queued.After(cutoff); job = pool.queue.peek() {
			pool.queue.pop()
			job.inv.Reply.Send(r.failed(pool, job, 503, CodeSaturated, fmt.Sprintf(
				"script %q (version %d) is saturated: no executor was free within %s (%d running)",
				pool.script.Name, pool.script.Version, pool.limits.QueueTimeout, pool.size)))
		}
		if job := pool.queue.peek(); job != nil {
			due := job.queued.Add(pool.limits.QueueTimeout).Sub(now)
			if next < 0 || due < next {
				next = due
			}
		}
	}
	if next >= 0 {
		r.armExpiry(ctx, max(next, time.Millisecond))
	}
}

// pools returns every pool the router holds: the live ones and the
// replaced ones some executor still serves.
func (r *appRouter) pools() []*executorPool {
	seen := make(map[*executorPool]bool, len(r.live))
	out := make([]*executorPool, 0, len(r.live))
	add := func(p *executorPool) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range r.live {
		add(p)
	}
	for _, ex := range r.executors {
		add(ex.pool)
	}
	return out
}
