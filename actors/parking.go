package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// This file holds the restart intensity of script versions, counted as
// OTP's supervisors count it: a version whose executors crash more than
// Limits.CrashLimit times within Limits.CrashWindow is parked, and so is
// one that killed its worker process more than FatalCrashLimit times. A
// parked version is answered 503 script_parked with Retry-After and runs
// nothing (no executor is started for it) until the window has passed or
// a new version replaces it. What counts as a crash: a panic, a timeout,
// a call the sandbox could not make, a call answered with the script's
// load failure, a call or load that killed its
// worker process (only the one the worker's death is blamed on, not the
// others that were in flight in it), and an executor that stopped on its
// own. The router hears of them as the supervisor of its executors
// (supervision.go); this is the only count of crashes: the worker
// processes restart without one. All of it is router state.
//
// Parking holds across nodes: a router that parks a version reports it
// (WithParkReports; the control plane stores it), and every router is
// sent the parkings of its app's versions with its snapshot
// (AppSnapshot.Parked) and parks them too, until the same time.

// crashRecord is the recent crashes of one script version and whether it
// is parked.
type crashRecord struct {
	// crashes are those within the window, oldest first.
	crashes     []crashAt
	parkedUntil time.Time // zero unless parked
	reason      string
	unpark      *time.Timer // armed while parked
}

// crashAt is one crash: when, and whether it killed the worker process.
type crashAt struct {
	at    time.Time
	fatal bool
}

// add records a crash at now and returns how many fall within window,
// and how many of those killed the worker.
func (c *crashRecord) add(now time.Time, window time.Duration, fatal bool) (n, fatals int) {
	c.prune(now, window)
	c.crashes = append(c.crashes, crashAt{at: now, fatal: fatal})
	for _, x := range c.crashes {
		if x.fatal {
			fatals++
		}
	}
	return len(c.crashes), fatals
}

// count returns how many crashes fall within window before now.
func (c *crashRecord) count(now time.Time, window time.Duration) int {
	c.prune(now, window)
	return len(c.crashes)
}

func (c *crashRecord) prune(now time.Time, window time.Duration) {
	cutoff := now.Add(-window)
	n := 0
	for n < len(c.crashes) && !c.crashes[n].at.After(cutoff) {
		n++
	}
	c.crashes = append(c.crashes[:0], c.crashes[n:]...)
}

// parked reports whether the version is parked at now.
func (c *crashRecord) parked(now time.Time) bool {
	return !c.parkedUntil.IsZero() && now.Before(c.parkedUntil)
}

// stop disarms the unpark timer.
func (c *crashRecord) stop() {
	if c.unpark != nil {
		c.unpark.Stop()
		c.unpark = nil
	}
}

// Parked is the parking of one script version: by this node's router
// (reported through WithParkReports) or by another node's (sent in
// AppSnapshot.Parked).
type Parked struct {
	AppID, ScriptID, Version int64
	Until                    time.Time
	Reason                   string
	// Node is the node that parked it; "" in a report of this node's.
	Node string
}

// WithParkReports makes every router call report when it parks a script
// version on its own count of crashes (not when it follows a parking
// sent in a snapshot). report runs on the router's goroutine: it must
// not block.
func WithParkReports(report func(Parked)) Option {
	return func(rt *Runtime) { rt.onPark = report }
}

// applyParked parks the live versions that parkings name, unless they
// are parked already: another node's router counted the crashes.
func (r *appRouter) applyParked(ctx actor.Context, parked []Parked) {
	now := time.Now()
	for _, p := range parked {
		pool := r.live[p.ScriptID]
		if pool == nil || pool.script.Version != p.Version || !now.Before(p.Until) || pool.crash.parked(now) {
			continue
		}
		reason := p.Reason
		if p.Node != "" {
			reason += " (parked on node " + p.Node + ")"
		}
		r.park(ctx, pool, now, p.Until, reason)
	}
}

// unparkDue tells a router that the parking of pool may be over.
type unparkDue struct {
	pool *executorPool
}

// scriptLoadFailed counts a call answered with its script's load
// failure: a script that does not load fails every request, so it parks
// like one that crashes.
func (r *appRouter) scriptLoadFailed(ctx actor.Context, msg *scriptLoadFailed) {
	if ex := r.executors[msg.id]; ex != nil { // else from before a restart of this router
		r.recordCrash(ctx, ex.pool, false, "failed to load: "+msg.cause)
	}
}

// recordCrash counts a crash of pool's script version (fatal: it killed
// its worker process) and parks it when it crashed more often than its
// limits allow.
func (r *appRouter) recordCrash(ctx actor.Context, pool *executorPool, fatal bool, cause string) {
	now := time.Now()
	n, fatals := pool.crash.add(now, pool.limits.CrashWindow, fatal)
	if pool.crash.parked(now) || !pool.live {
		return
	}
	var reason string
	switch {
	case fatals > FatalCrashLimit:
		reason = fmt.Sprintf("killed its worker process %d times within %s (more than %d); last: %s",
			fatals, pool.limits.CrashWindow, FatalCrashLimit, cause)
	case n > pool.limits.CrashLimit:
		reason = fmt.Sprintf("crashed %d times within %s (more than %d); last: %s",
			n, pool.limits.CrashWindow, pool.limits.CrashLimit, cause)
	default:
		return
	}
	until := now.Add(pool.limits.CrashWindow)
	r.park(ctx, pool, now, until, reason)
	if r.seed.onPark != nil {
		r.seed.onPark(Parked{AppID: r.seed.appID, ScriptID: pool.script.ScriptID, Version: pool.script.Version,
			Until: until, Reason: reason})
	}
}

// park rests pool until until: its queued requests are answered 503 and
// its idle executors stop.
func (r *appRouter) park(ctx actor.Context, pool *executorPool, now, until time.Time, reason string) {
	pool.crash.parkedUntil = until
	pool.crash.reason = reason
	r.seed.logger.Warn("script parked", slog.String("app", r.slug),
		slog.Int64("script", pool.script.ScriptID), slog.Int64("version", pool.script.Version),
		slog.Time("until", pool.crash.parkedUntil), slog.String("reason", reason))
	for job := pool.queue.pop(); job != nil; job = pool.queue.pop() {
		job.inv.Reply.Send(r.parkedResult(pool, job, now))
	}
	for ex := pool.popIdle(); ex != nil; ex = pool.popIdle() {
		r.retire(ctx, ex)
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	pool.crash.stop()
	pool.crash.unpark = time.AfterFunc(until.Sub(now), func() {
		root.Send(self, &unparkDue{pool: pool})
	})
}

// unparkDue lets a parked pool serve again once its time is up.
func (r *appRouter) unparkDue(ctx actor.Context, msg *unparkDue) {
	pool := msg.pool
	if pool.crash.parkedUntil.IsZero() || !pool.live {
		return
	}
	now := time.Now()
	if pool.crash.parked(now) { // a timer that fired early: try again
		root, self := ctx.ActorSystem().Root, ctx.Self()
		pool.crash.unpark = time.AfterFunc(pool.crash.parkedUntil.Sub(now), func() {
			root.Send(self, msg)
		})
		return
	}
	// The crashes that parked it are older than the window by now; any
	// newer one (the pool serves again as soon as parkedUntil passes,
	// before this message arrives) still counts.
	pool.crash.parkedUntil, pool.crash.reason, pool.crash.unpark = time.Time{}, "", nil
	r.seed.logger.Info("script unparked", slog.String("app", r.slug),
		slog.Int64("script", pool.script.ScriptID), slog.Int64("version", pool.script.Version))
}

// parkedResult is the answer to a request for a parked version.
func (r *appRouter) parkedResult(pool *executorPool, job *execute, now time.Time) Result {
	res := r.failed(pool, job, 503, CodeParked, fmt.Sprintf(
		"script %q (version %d) is parked until %s: it %s; deploy a fixed version or wait",
		pool.script.Name, pool.script.Version, pool.crash.parkedUntil.UTC().Format(time.RFC3339), pool.crash.reason))
	res.RetryAfter = pool.crash.parkedUntil.Sub(now)
	return res
}
