package actors

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/route"
)

// routerSeed is what a router keeps across a restart by its supervisor:
// who it is and the last snapshot it applied. Only the router's
// incarnations touch it, one after the other on the router's mailbox.
type routerSeed struct {
	appID      int64
	slug       string
	dispatcher actor.Dispatcher
	logger     *slog.Logger
	engine     engine.Engine
	hosts      HostProvider
	onPark     func(Parked)
	snapshot   *AppSnapshot
	// stopped is called once, when the router has stopped for good.
	stopped func()
	// afterlife answers the Invokes that reach the router's mailbox
	// after it stopped.
	afterlife *afterlife
	// nextID numbers the executors of every incarnation: a message of
	// an executor from before a restart (an idle one offering its
	// instance, see executorIdle.direct) names no executor of the next.
	nextID uint64
}

// appRouter is the router actor of one app: it owns the app's route trie
// and the executor pools of its scripts' versions, matches every Invoke
// to a script version and hands it to an executor of that version.
type appRouter struct {
	seed *routerSeed
	slug string
	trie *route.Trie
	// live maps a script id to the pool of its live version.
	live      map[int64]*executorPool
	executors map[uint64]*executorRef
	sweep     *time.Timer // armed while some executor is idle
	expiry    *time.Timer // armed while some request is queued
	draining  bool
	stopping  bool
}

func newAppRouter(seed *routerSeed) *appRouter {
	return &appRouter{
		seed:      seed,
		slug:      seed.slug,
		trie:      route.NewTrie(),
		live:      map[int64]*executorPool{},
		executors: map[uint64]*executorRef{},
	}
}

// Receive implements actor.Actor.
func (r *appRouter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *Invoke:
		r.invoke(ctx, msg)
	case *executorIdle:
		if ex := r.executors[msg.id]; ex != nil { // else from before a restart of this router
			ex.direct = msg.direct
			r.executorFree(ctx, ex)
		}
	case *scriptLoadFailed:
		r.scriptLoadFailed(ctx, msg)
	case *unparkDue:
		r.unparkDue(ctx, msg)
	case *AppSnapshot:
		r.applySnapshot(ctx, msg)
	case *sweepIdle:
		r.sweepIdle(ctx)
	case *expireQueued:
		r.expireQueued(ctx)
	case *drain:
		r.drain(ctx)
	case *Inspect:
		r.inspect(msg)
	case *actor.Terminated:
		r.executorTerminated(ctx, msg.Who)
	case *actor.Started:
		r.started(ctx)
	case *actor.Restarting:
		r.restarting(ctx)
	case *actor.Stopped:
		r.stopped()
	}
}

// invoke resolves inv to a script version and hands it to its pool.
func (r *appRouter) invoke(ctx actor.Context, inv *Invoke) {
	switch {
	case r.draining:
		inv.Reply.Send(unavailable(inv, r.slug))
		return
	case inv.Request == nil:
		inv.Reply.Send(Result{Status: 500, ErrCode: CodeInternal, ErrMessage: "invoke without a request"})
		return
	}
	pool, job, res := r.resolve(inv)
	if pool == nil {
		inv.Reply.Send(res)
		return
	}
	if !pool.crash.parkedUntil.IsZero() {
		if now := time.Now(); pool.crash.parked(now) {
			inv.Reply.Send(r.parkedResult(pool, job, now))
			return
		}
	}
	r.dispatch(ctx, pool, job)
}

// resolve finds the pool for inv, or the error Result when there is none.
func (r *appRouter) resolve(inv *Invoke) (*executorPool, *execute, Result) {
	if inv.ScriptID > 0 {
		pool := r.live[inv.ScriptID]
		if pool == nil {
			return nil, nil, Result{Status: 404, ErrCode: CodeNotFound, ScriptID: inv.ScriptID,
				ErrMessage: fmt.Sprintf("app %q has no script %d", r.slug, inv.ScriptID)}
		}
		return pool, &execute{inv: inv, params: r.scriptParams(inv)}, Result{}
	}
	req := inv.Request
	rt, params, ok := r.trie.Match(req.Method, req.Path)
	if !ok {
		if allow := r.trie.Allowed(req.Path); len(allow) > 0 {
			return nil, nil, Result{Status: 405, ErrCode: CodeMethodNotAllowed,
				Headers:    []Header{{Name: "Allow", Value: strings.Join(allow, ", ")}},
				ErrMessage: "no route for " + req.Method + " " + req.Path + "; allowed: " + strings.Join(allow, ", ")}
		}
		return nil, nil, Result{Status: 404, ErrCode: CodeNotFound,
			ErrMessage: "no route for " + req.Method + " " + req.Path}
	}
	// applySnapshot keeps only routes whose script is live.
	return r.live[rt.ScriptID], &execute{inv: inv, routeID: rt.ID, params: params}, Result{}
}

// scriptParams are the route parameters of a call by script id whose
// path matches one of that script's own routes (of its method), so a
// script reading req.Params can be tried by id; nil otherwise.
func (r *appRouter) scriptParams(inv *Invoke) route.Params {
	var own *route.Trie
	for _, rt := range r.trie.Routes() {
		if rt.ScriptID != inv.ScriptID {
			continue
		}
		if own == nil {
			own = route.NewTrie()
		}
		_ = own.Add(rt) // the app's trie holds it already: it is valid
	}
	if own == nil {
		return nil
	}
	_, params, _ := own.Match(inv.Request.Method, inv.Request.Path)
	return params
}

// dispatch runs job on an idle executor of pool, on a new one if the
// pool may grow, else queues it, else answers 503.
func (r *appRouter) dispatch(ctx actor.Context, pool *executorPool, job *execute) {
	if ex := pool.popIdle(); ex != nil {
		r.run(ctx, ex, job)
		return
	}
	if pool.size < pool.limits.MaxConcurrency {
		ex, err := r.spawnExecutor(ctx, pool)
		if err != nil {
			job.inv.Reply.Send(r.failed(pool, job, 500, CodeInternal, err.Error()))
			return
		}
		r.run(ctx, ex, job)
		return
	}
	if pool.queue.len() < pool.limits.QueueLimit {
		job.queued = time.Now()
		pool.queue.push(job)
		r.armExpiry(ctx, pool.limits.QueueTimeout)
		return
	}
	job.inv.Reply.Send(r.failed(pool, job, 503, CodeSaturated, fmt.Sprintf(
		"script %q (version %d) is saturated: %d running and %d queued",
		pool.script.Name, pool.script.Version, pool.size, pool.queue.len())))
}

// failed is the Result for a job the router could not run.
func (r *appRouter) failed(pool *executorPool, job *execute, status int, code, msg string) Result {
	return Result{Status: status, ErrCode: code, ErrMessage: msg,
		RouteID: job.routeID, ScriptID: pool.script.ScriptID, Version: pool.script.Version}
}

// directBody bounds the request body of a call the router starts
// itself: writing a larger one to the worker's socket could hold the
// router up, so it goes through the executor's mailbox.
const directBody = 64 << 10

func (r *appRouter) run(ctx actor.Context, ex *executorRef, job *execute) {
	ex.job = job
	if d := ex.direct; d != nil && len(job.inv.Request.Body) <= directBody {
		ex.direct = nil // the executor's again once it says it is idle
		d.start(job, false)
		return
	}
	ex.direct = nil
	ctx.Send(ex.pid, job)
}

// spawnExecutor starts a new executor child in pool.
func (r *appRouter) spawnExecutor(ctx actor.Context, pool *executorPool) (*executorRef, error) {
	r.seed.nextID++
	id := r.seed.nextID
	slot := pool.takeSlot()
	props := executorProps(executorConfig{
		id:     id,
		slot:   slot,
		script: pool.script,
		appID:  r.seed.appID,
		app:    pool.app,
		limits: pool.limits,
		logger: r.seed.logger,
		engine: r.seed.engine,
		hosts:  r.seed.hosts,
		router: ctx.Self(),
		root:   ctx.ActorSystem().Root,
	}, r.seed.dispatcher)
	name := "s" + strconv.FormatInt(pool.script.ScriptID, 10) +
		"v" + strconv.FormatInt(pool.script.Version, 10) +
		"-" + strconv.FormatUint(id, 10)
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		pool.freeSlot(slot)
		return nil, fmt.Errorf("app %q: start executor for script %d version %d: %w",
			r.slug, pool.script.ScriptID, pool.script.Version, err)
	}
	ex := &executorRef{id: id, slot: slot, pid: pid, pool: pool}
	r.executors[id] = ex
	pool.size++
	return ex, nil
}

// executorFree hands an executor that finished its request the next
// queued request of its pool, or parks it, or stops it when its pool no
// longer needs it.
func (r *appRouter) executorFree(ctx actor.Context, ex *executorRef) {
	ex.job = nil
	pool := ex.pool
	if job := pool.queue.pop(); job != nil {
		r.run(ctx, ex, job)
		return
	}
	if r.redundant(ex) {
		r.retire(ctx, ex)
		r.stopIfDrained(ctx)
		return
	}
	ex.idleSince = time.Now()
	pool.idle = append(pool.idle, ex)
	r.armSweep(ctx, pool.limits.IdleTimeout)
}

// redundant reports whether ex, free, is to stop rather than wait for
// requests: its pool is replaced, parked or over its size, or the router
// drains.
func (r *appRouter) redundant(ex *executorRef) bool {
	pool := ex.pool
	return !pool.live || r.draining || pool.size > pool.limits.MaxConcurrency || pool.crash.parked(time.Now())
}

// retire stops an executor that holds no request.
func (r *appRouter) retire(ctx actor.Context, ex *executorRef) {
	ex.direct = nil
	delete(r.executors, ex.id)
	ex.pool.size--
	ex.pool.freeSlot(ex.slot)
	ctx.Stop(ex.pid)
}

// applySnapshot swaps in the app's routes and script versions. Requests
// already handed to a version finish there; new ones go to the new
// versions at once.
func (r *appRouter) applySnapshot(ctx actor.Context, s *AppSnapshot) {
	if s == nil || s.AppID != r.seed.appID {
		r.seed.logger.Warn("router ignored a snapshot that is not its app's", slog.Int64("app", r.seed.appID))
		return
	}
	limits := s.Limits.WithDefaults()
	live := make(map[int64]*executorPool, len(s.Scripts))
	for _, sv := range s.Scripts {
		limits := limits
		if sv.Limits != nil {
			limits = sv.Limits.WithDefaults()
		}
		if old := r.live[sv.ScriptID]; old != nil && old.serves(sv, s.Slug, limits) {
			live[sv.ScriptID] = old
			continue
		}
		live[sv.ScriptID] = newExecutorPool(sv, s.Slug, limits)
	}
	trie := r.buildTrie(s, live)
	for id, old := range r.live {
		if live[id] != old {
			r.retirePool(ctx, old)
		}
	}
	r.live, r.trie, r.slug = live, trie, s.Slug
	r.seed.snapshot = s
	r.applyParked(ctx, s.Parked)
}

// buildTrie builds the trie of the snapshot's routes whose script is in
// live. A route the control plane should not have let through is logged
// and left out.
func (r *appRouter) buildTrie(s *AppSnapshot, live map[int64]*executorPool) *route.Trie {
	trie := route.NewTrie()
	for _, rt := range s.Routes {
		if live[rt.ScriptID] == nil {
			r.seed.logger.Warn("route bound to a script the app does not have; ignored",
				slog.String("app", s.Slug), slog.Int64("route", rt.ID), slog.Int64("script", rt.ScriptID))
			continue
		}
		err := trie.Add(route.Route{ID: rt.ID, Method: rt.Method, Path: rt.Path, ScriptID: rt.ScriptID})
		if err != nil {
			r.seed.logger.Warn("route ignored", slog.String("app", s.Slug), slog.Any("error", err))
		}
	}
	return trie
}

// retirePool marks pool as replaced and stops its idle executors; busy
// ones serve what the pool holds, then stop.
func (r *appRouter) retirePool(ctx actor.Context, pool *executorPool) {
	pool.live = false
	pool.crash.stop()
	for ex := pool.popIdle(); ex != nil; ex = pool.popIdle() {
		r.retire(ctx, ex)
	}
}

// armSweep makes sure a sweep of idle executors is due within d.
func (r *appRouter) armSweep(ctx actor.Context, d time.Duration) {
	if r.sweep != nil {
		return
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	r.sweep = time.AfterFunc(d, func() { root.Send(self, &sweepIdle{}) })
}

// sweepIdle stops the executors idle for longer than their pool's idle
// timeout and arms the next sweep if some remain idle.
func (r *appRouter) sweepIdle(ctx actor.Context) {
	r.sweep = nil
	now := time.Now()
	next := time.Duration(-1)
	for _, pool := range r.live {
		for _, ex := range pool.takeIdleBefore(now.Add(-pool.limits.IdleTimeout)) {
			r.retire(ctx, ex)
		}
		if len(pool.idle) > 0 {
			due := pool.idle[0].idleSince.Add(pool.limits.IdleTimeout).Sub(now)
			if next < 0 || due < next {
				next = due
			}
		}
	}
	if next >= 0 {
		r.armSweep(ctx, max(next, time.Millisecond))
	}
}

// drain stops taking requests, lets the executors finish what the router
// holds, and stops the router once none is left.
func (r *appRouter) drain(ctx actor.Context) {
	r.draining = true
	for _, pool := range r.live {
		r.retirePool(ctx, pool)
	}
	r.stopIfDrained(ctx)
}

func (r *appRouter) stopIfDrained(ctx actor.Context) {
	if r.draining && !r.stopping && len(r.executors) == 0 {
		r.stopping = true
		ctx.Stop(ctx.Self())
	}
}

// executorTerminated forgets an executor that stopped without the router
// asking (a retired one is already forgotten).
func (r *appRouter) executorTerminated(ctx actor.Context, pid *actor.PID) {
	for id, ex := range r.executors {
		if !ex.pid.Equal(pid) {
			continue
		}
		delete(r.executors, id)
		ex.pool.size--
		ex.pool.freeSlot(ex.slot)
		for i, idle := range ex.pool.idle {
			if idle == ex {
				ex.pool.idle = append(ex.pool.idle[:i], ex.pool.idle[i+1:]...)
				break
			}
		}
		r.seed.logger.Warn("executor stopped unexpectedly", slog.String("app", r.slug),
			slog.String("executor", pid.Id), slog.Bool("had_request", ex.job != nil))
		r.recordCrash(ctx, ex.pool, false, "executor stopped unexpectedly")
		if !ex.pool.crash.parked(time.Now()) {
			r.refill(ctx, ex.pool)
		}
		break
	}
	r.stopIfDrained(ctx)
}

// refill starts executors for the queued requests of pool, up to its
// concurrency limit.
func (r *appRouter) refill(ctx actor.Context, pool *executorPool) {
	for pool.queue.len() > 0 && pool.size < pool.limits.MaxConcurrency {
		ex, err := r.spawnExecutor(ctx, pool)
		if err != nil {
			r.seed.logger.Error("refill executor pool", slog.Any("error", err))
			return
		}
		r.run(ctx, ex, pool.queue.pop())
	}
}

// started restores the last snapshot after a restart.
func (r *appRouter) started(ctx actor.Context) {
	if r.seed.snapshot != nil {
		r.applySnapshot(ctx, r.seed.snapshot)
	}
}

// restarting hands the queued requests to the next incarnation: they are
// sent to self and served after the restart. protoactor stops the
// executors before the restart; they are forgotten here so that their
// Terminated messages start no new ones.
func (r *appRouter) restarting(ctx actor.Context) {
	r.stopTimers()
	for _, pool := range r.live {
		pool.crash.stop()
	}
	seen := map[*executorPool]bool{}
	for _, ex := range r.executors {
		if seen[ex.pool] {
			continue
		}
		seen[ex.pool] = true
		for job := ex.pool.queue.pop(); job != nil; job = ex.pool.queue.pop() {
			ctx.Send(ctx.Self(), job.inv)
		}
	}
	clear(r.executors)
	clear(r.live)
}

// inspect reports the router's state.
func (r *appRouter) inspect(msg *Inspect) {
	st := RouterStatus{AppID: r.seed.appID, Slug: r.slug, Routes: len(r.trie.Routes())}
	seen := map[*executorPool]bool{}
	now := time.Now()
	add := func(p *executorPool) {
		if seen[p] {
			return
		}
		seen[p] = true
		ps := PoolStatus{ScriptID: p.script.ScriptID, Version: p.script.Version,
			Live: p.live, Executors: p.size, Idle: len(p.idle), Queued: p.queue.len(),
			Crashes: p.crash.count(now, p.limits.CrashWindow)}
		if p.crash.parked(now) {
			ps.ParkedUntil, ps.ParkReason = p.crash.parkedUntil, p.crash.reason
		}
		st.Pools = append(st.Pools, ps)
	}
	for _, p := range r.live {
		add(p)
	}
	for _, ex := range r.executors {
		add(ex.pool)
	}
	slices.SortStableFunc(st.Pools, func(a, b PoolStatus) int {
		if a.Live != b.Live {
			if a.Live {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.ScriptID, b.ScriptID), cmp.Compare(a.Version, b.Version))
	})
	select {
	case msg.Reply <- st:
	default: // never block the router on a reader that is not there
	}
}

func (r *appRouter) stopped() {
	r.seed.afterlife.gone.Store(true)
	r.stopTimers()
	for _, pool := range r.live {
		pool.crash.stop()
	}
	if r.seed.stopped != nil {
		r.seed.stopped()
	}
}

func (r *appRouter) stopTimers() {
	if r.sweep != nil {
		r.sweep.Stop()
		r.sweep = nil
	}
	if r.expiry != nil {
		r.expiry.Stop()
		r.expiry = nil
	}
}

// answerLateInvoke answers an Invoke that reached a stopped router.
func answerLateInvoke(slug string) func(any) {
	return func(msg any) {
		if inv, ok := msg.(*Invoke); ok {
			inv.Reply.Send(unavailable(inv, slug))
		}
	}
}

// unavailable is the Result of an Invoke that reached a router that is
// stopping or gone.
func unavailable(inv *Invoke, slug string) Result {
	return Result{Status: 503, ErrCode: CodeUnavailable, ScriptID: inv.ScriptID,
		ErrMessage: fmt.Sprintf("app %q is shutting down", slug)}
}
