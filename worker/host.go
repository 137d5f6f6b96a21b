package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// Defaults of Options.
const (
	DefaultMemoryLimit = 256 << 20
	DefaultBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultIdleTimeout = 10 * time.Second
	// abandonGrace is how long a worker may keep running a call its
	// caller gave up on (time budget exceeded) before it is killed: the
	// script is stuck, and only ending its process stops it.
	abandonGrace = 2 * time.Second
)

// Options configure an Engine.
type Options struct {
	// Command is the worker's argv; default: this executable, "worker".
	Command []string
	// Env is added to the worker's environment, which is otherwise
	// computed (workerEnv), never inherited.
	Env []string
	// MemoryLimit is each worker's memory limit in bytes.
	MemoryLimit int64
	// Backoff is the wait before the first restart of a worker that died
	// with no call to blame (it could not start); it doubles with every
	// such failure in a row, up to MaxBackoff. A worker a call killed is
	// restarted at once.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Procs is each worker's GOMAXPROCS: how many cores one app's
	// scripts may use at once (default 1, which also spares a worker the
	// cost of waking a second thread for every call).
	Procs int
	// IdleTimeout is how long a worker that holds no script lives on.
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("worker: find the picloud executable: %w", err)
		}
		o.Command = []string{exe, "worker"}
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.Backoff)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Procs <= 0 {
		o.Procs = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Engine is the engine.Engine that runs every app's scripts in a worker
// process of its own.
type Engine struct {
	opts Options

	mu      sync.Mutex
	apps    map[int64]*supervisor // by app id: a slug can change hands
	closed  bool
	running sync.WaitGroup // one per live process
	ready   startCheck
}

var _ engine.Engine = (*Engine)(nil)

// NewEngine returns an Engine; workers start on the first Load of their
// app.
func NewEngine(opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := confineSupport(); err != nil {
		opts.Logger.Warn("workers run without a syscall filter: scripts are held by the interpreter alone", slog.Any("err", err))
	}
	return &Engine{opts: opts, apps: map[int64]*supervisor{}}, nil
}

// Load implements engine.Engine: it compiles script in app's worker,
// starting the worker if needed. Workers are keyed by app id: an app
// that takes over the slug of a renamed one gets a worker of its own.
func (e *Engine) Load(ctx context.Context, app engine.AppRef, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	sup, err := e.supervisor(app)
	if err != nil {
		return nil, err
	}
	return sup.load(ctx, app.Slug, script, opts)
}

func (e *Engine) supervisor(app engine.AppRef) (*supervisor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("worker engine is closed: %w", engine.ErrWorkerCrashed)
	}
	sup := e.apps[app.ID]
	if sup == nil {
		sup = &supervisor{engine: e, appID: app.ID, app: app.Slug}
		e.apps[app.ID] = sup
	}
	sup.mu.Lock()
	sup.app = app.Slug // the latest name, for logs
	sup.mu.Unlock()
	return sup, nil
}

// Close kills every worker and waits for them to exit. Loads after
// Close fail.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	sups := make([]*supervisor, 0, len(e.apps))
	for _, s := range e.apps {
		sups = append(sups, s)
	}
	e.mu.Unlock()
	for _, s := range sups {
		s.stop("server shutting down")
	}
	e.running.Wait()
}

// Workers returns the pid of every running worker by app id, for tests
// and metrics.
func (e *Engine) Workers() map[int64]int {
	e.mu.Lock()
	sups := make([]*supervisor, 0, len(e.apps))
	for _, s := range e.apps {
		sups = append(sups, s)
	}
	e.mu.Unlock()
	out := map[int64]int{}
	for _, s := range sups {
		s.mu.Lock()
		if s.proc != nil {
			out[s.appID] = s.proc.cmd.Process.Pid
		}
		s.mu.Unlock()
	}
	return out
}

// supervisor owns the worker process of one app: it starts it on
// demand and stops it when it has held no script for a while. It keeps
// no count of the crashes scripts cause: the calls that killed a worker
// are told so (engine.ErrCausedCrash) and their scripts' routers count
// and park them, and the next load starts a new worker at once. Only a
// worker that dies with no script to blame (one that cannot start) is
// restarted with a backoff, for there is nothing else to stop the loop.
type supervisor struct {
	engine *Engine
	appID  int64

	mu        sync.Mutex
	app       string   // the app's slug, for logs only
	proc      *process // nil while none runs
	instances int      // loaded on proc
	idle      *time.Timer
	failures  int       // unexplained deaths in a row
	notBefore time.Time // no restart before this, after such a death
	lastCrash string
}

func (s *supervisor) load(ctx context.Context, slug string, script engine.Script, opts sandbox.Options) (engine.Instance, error) {
	for {
		p, err := s.acquire(ctx)
		if err != nil {
			return nil, err
		}
		id := p.nextInstance()
		f, err := p.roundTrip(ctx, &Frame{Body: &Frame_Load{Load: &Load{Instance: id, Source: script.Source, MaxOutput: int64(opts.MaxOutput), MaxResponseBody: int64(opts.MaxResponseBody),
			App: slug, ScriptId: script.ScriptID, Version: script.Version}}}, id, nil)
		if errors.Is(err, engine.ErrInstanceLost) {
			s.release(p)
			continue // that worker died before it got the load: the next one
		}
		if err == nil && f.GetLoaded() == nil {
			err = fmt.Errorf("worker: answered a load with something else")
		}
		if err == nil {
			err = f.GetLoaded().Error.asError()
		}
		if err != nil {
			if ctx.Err() != nil {
				// Nobody waits for this load any more: stop it, rather
				// than have the worker killed as stuck when it overruns.
				p.send(&Frame{Body: &Frame_Unload{Unload: &Unload{Instance: id}}})
			}
			s.release(p)
			return nil, err
		}
		return &instance{sup: s, p: p, id: id}, nil
	}
}

// acquire returns the running worker, starting one if needed, and counts
// one more instance on it. While the worker is dying or must not be
// restarted yet it waits, as long as ctx allows.
func (s *supervisor) acquire(ctx context.Context) (*process, error) {
	for {
		s.mu.Lock()
		p, notBefore, app := s.proc, s.notBefore, s.app
		var reaped <-chan struct{}
		var backoff time.Duration
		switch {
		case p != nil && p.failing():
			reaped = p.gone // then a new one starts
		case p == nil && time.Now().Before(notBefore):
			if deadline, ok := ctx.Deadline(); ok && deadline.Before(notBefore) {
				s.mu.Unlock()
				return nil, fmt.Errorf("the worker of app %q is restarting in %s after it failed (%s): %w",
					app, time.Until(notBefore).Round(time.Millisecond), s.lastCrash, engine.ErrWorkerCrashed)
			}
			backoff = time.Until(notBefore)
		case p == nil:
			started, err := s.start()
			if err != nil {
				s.mu.Unlock()
				return nil, err
			}
			s.proc, p = started, started
			fallthrough
		default:
			if s.idle != nil {
				s.idle.Stop()
			}
			s.instances++
			s.mu.Unlock()
			return p, nil
		}
		s.mu.Unlock()
		if err := waitFor(ctx, reaped, backoff); err != nil {
			return nil, fmt.Errorf("the worker of app %q did not restart in time (%w): %w", app, err, engine.ErrWorkerCrashed)
		}
	}
}

// waitFor waits until done is closed (a nil done: until d has passed) or
// ctx ends, whichever comes first; it returns ctx's error in the latter
// case.
func waitFor(ctx context.Context, done <-chan struct{}, d time.Duration) error {
	if done == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release counts one instance less on p and arms the idle stop when p
// holds none.
func (s *supervisor) release(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != p {
		return
	}
	s.instances--
	if s.instances > 0 {
		return
	}
	if s.idle == nil {
		s.idle = time.AfterFunc(s.engine.opts.IdleTimeout, s.stopIfIdle)
	} else {
		s.idle.Reset(s.engine.opts.IdleTimeout)
	}
}

func (s *supervisor) stopIfIdle() {
	s.mu.Lock()
	p := s.proc
	if p == nil || s.instances > 0 {
		s.mu.Unlock()
		return
	}
	s.proc = nil
	s.mu.Unlock()
	s.engine.opts.Logger.Debug("worker idle, stopping", slog.String("app", p.app))
	p.kill("stopped after the idle timeout", 0)
}

// stop ends the worker, if one runs.
func (s *supervisor) stop(why string) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	if s.idle != nil {
		s.idle.Stop()
	}
	s.mu.Unlock()
	if p != nil {
		p.kill(why, 0)
	}
}

// exited is called once per process when it is gone. A crash that no
// call in flight explains sets a backoff before the next start.
func (s *supervisor) exited(p *process, crashed, explained bool, reason string, lived time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == p {
		s.proc = nil
		s.instances = 0
	}
	if !crashed {
		return
	}
	opts := s.engine.opts
	if explained {
		s.failures = 0
		opts.Logger.Warn("worker crashed; its scripts' callers in flight were answered, the next call starts a new one",
			slog.String("app", s.app), slog.String("reason", reason))
		return
	}
	if lived > opts.MaxBackoff {
		s.failures = 0 // it ran well for a while: start the backoff over
	}
	s.failures++
	backoff := backoffAfter(s.failures, opts.Backoff, opts.MaxBackoff)
	s.notBefore = time.Now().Add(backoff)
	s.lastCrash = reason
	opts.Logger.Warn("worker failed", slog.String("app", s.app), slog.String("reason", reason),
		slog.Int("failures_in_a_row", s.failures), slog.Duration("restart_after", backoff))
}

// backoffAfter is the wait before a restart after crashes crashes in a
// row: base, doubling with each, capped at most.
func backoffAfter(crashes int, base, most time.Duration) time.Duration {
	d := base << min(max(crashes-1, 0), 30)
	if d > most || d <= 0 {
		return most
	}
	return d
}

// instance is a script version loaded in a worker.
type instance struct {
	sup  *supervisor
	p    *process
	id   uint64
	once sync.Once
	call callFrame     // reused: one call at a time
	slot *reusedCall   // reused while calls succeed; nil after a failed one
	cur  atomic.Uint64 // the id of the call Start sent last, for Abandon
}

var _ engine.Starter = (*instance)(nil)

// Call implements engine.Instance.
func (in *instance) Call(ctx context.Context, req *sdk.Request) sandbox.Result {
	if in.slot == nil {
		in.slot = newReusedCall(in)
	}
	f, err := in.p.roundTrip(ctx, in.call.set(in.id, req), in.id, in.slot)
	if err != nil {
		in.slot = nil // it may still be pending, or answered late
		return sandbox.Result{Err: err}
	}
	if f.GetResult() == nil {
		return sandbox.Result{Err: errors.New("worker: answered a call with something else")}
	}
	return f.GetResult().sandboxResult()
}

// Start implements engine.Starter: the call is written to the worker
// and done is called by the host's reader when the answer arrives, with
// no goroutine waiting for it in between.
func (in *instance) Start(ctx context.Context, req *sdk.Request, done func(sandbox.Result)) {
	if in.slot == nil {
		in.slot = newReusedCall(in)
	}
	in.slot.done = done
	in.p.start(ctx, in.call.set(in.id, req), in.id, in.slot, &in.cur)
}

// Abandon implements engine.Starter.
func (in *instance) Abandon() { in.p.abandon(in.cur.Load()) }

// Close implements engine.Instance.
func (in *instance) Close() {
	in.once.Do(func() {
		in.p.send(&Frame{Body: &Frame_Unload{Unload: &Unload{Instance: in.id}}})
		in.p.forget(in.id)
		in.sup.release(in.p)
	})
}
