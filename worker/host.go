package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/picloud/picloud/actors"
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
	// Env is added to this process's environment for the worker.
	Env []string
	// MemoryLimit is each worker's memory limit in bytes.
	MemoryLimit int64
	// Backoff is the wait before the first restart after a crash; it
	// doubles with every crash in a row, up to MaxBackoff.
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

// Engine is the actors.Engine that runs every app's scripts in a worker
// process of its own.
type Engine struct {
	opts Options

	mu      sync.Mutex
	apps    map[string]*supervisor
	closed  bool
	running sync.WaitGroup // one per live process
	ready   startCheck
}

var _ actors.Engine = (*Engine)(nil)

// NewEngine returns an Engine; workers start on the first Load of their
// app.
func NewEngine(opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Engine{opts: opts, apps: map[string]*supervisor{}}, nil
}

// Load implements actors.Engine: it compiles script in app's worker,
// starting the worker if needed.
func (e *Engine) Load(ctx context.Context, app string, script actors.ScriptVersion, opts sandbox.Options) (actors.Instance, error) {
	sup, err := e.supervisor(app)
	if err != nil {
		return nil, err
	}
	return sup.load(ctx, script, opts)
}

func (e *Engine) supervisor(app string) (*supervisor, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("worker engine is closed: %w", actors.ErrWorkerCrashed)
	}
	sup := e.apps[app]
	if sup == nil {
		sup = &supervisor{engine: e, app: app}
		e.apps[app] = sup
	}
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

// Workers returns the pid of every running worker by app, for tests and
// metrics.
func (e *Engine) Workers() map[string]int {
	e.mu.Lock()
	sups := make([]*supervisor, 0, len(e.apps))
	for _, s := range e.apps {
		sups = append(sups, s)
	}
	e.mu.Unlock()
	out := map[string]int{}
	for _, s := range sups {
		s.mu.Lock()
		if s.proc != nil {
			out[s.app] = s.proc.cmd.Process.Pid
		}
		s.mu.Unlock()
	}
	return out
}

// supervisor owns the worker process of one app: it starts it on
// demand, restarts it after a crash no sooner than the backoff allows
// and stops it when it has held no script for a while.
type supervisor struct {
	engine *Engine
	app    string

	mu        sync.Mutex
	proc      *process // nil while none runs
	instances int      // loaded on proc
	idle      *time.Timer
	crashes   int       // in a row
	notBefore time.Time // no restart before this, after a crash
	lastCrash string
}

func (s *supervisor) load(ctx context.Context, script actors.ScriptVersion, opts sandbox.Options) (actors.Instance, error) {
	p, err := s.acquire()
	if err != nil {
		return nil, err
	}
	id := p.nextInstance()
	f, err := p.roundTrip(ctx, &Frame{Load: &Load{Instance: id, Source: script.Source, MaxOutput: int64(opts.MaxOutput), MaxResponseBody: int64(opts.MaxResponseBody),
		App: s.app, ScriptID: script.ScriptID, Version: script.Version}})
	if err == nil && f.Loaded == nil {
		err = fmt.Errorf("worker: answered a load with something else")
	}
	if err == nil {
		err = f.Loaded.Err.asError()
	}
	if err != nil {
		s.release(p)
		return nil, err
	}
	return &instance{sup: s, p: p, id: id}, nil
}

// acquire returns the running worker, starting one if the backoff
// allows, and counts one more instance on it.
func (s *supervisor) acquire() (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		if wait := time.Until(s.notBefore); wait > 0 {
			return nil, fmt.Errorf("the worker of app %q is restarting in %s after a crash (%s): %w",
				s.app, wait.Round(time.Millisecond), s.lastCrash, actors.ErrWorkerCrashed)
		}
		p, err := s.start()
		if err != nil {
			return nil, err
		}
		s.proc = p
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	s.instances++
	return s.proc, nil
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
	s.engine.opts.Logger.Debug("worker idle, stopping", slog.String("app", s.app))
	p.kill("stopped after the idle timeout", false)
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
		p.kill(why, false)
	}
}

// exited is called once per process when it is gone. A crash sets the
// backoff before the next start.
func (s *supervisor) exited(p *process, crashed bool, reason string, lived time.Duration) {
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
	if lived > opts.MaxBackoff {
		s.crashes = 0 // it ran well for a while: start the backoff over
	}
	s.crashes++
	backoff := backoffAfter(s.crashes, opts.Backoff, opts.MaxBackoff)
	s.notBefore = time.Now().Add(backoff)
	s.lastCrash = reason
	opts.Logger.Warn("worker crashed", slog.String("app", s.app), slog.String("reason", reason),
		slog.Int("crashes_in_a_row", s.crashes), slog.Duration("restart_after", backoff))
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
}

// Call implements actors.Instance.
func (in *instance) Call(ctx context.Context, req *sdk.Request) sandbox.Result {
	f, err := in.p.roundTrip(ctx, &Frame{Call: &Call{Instance: in.id, Request: req}})
	if err != nil {
		return sandbox.Result{Err: err}
	}
	if f.Result == nil {
		return sandbox.Result{Err: errors.New("worker: answered a call with something else")}
	}
	r := f.Result
	res := sandbox.Result{Response: r.Response, Output: r.Output, Duration: r.Duration}
	if r.Err != nil {
		if r.Err.Kind == KindPanic {
			res.Panic = r.Err.asError()
		} else {
			res.Err = r.Err.asError()
		}
	}
	return res
}

// Close implements actors.Instance.
func (in *instance) Close() {
	in.once.Do(func() {
		in.p.send(&Frame{Unload: &Unload{Instance: in.id}})
		in.sup.release(in.p)
	})
}
