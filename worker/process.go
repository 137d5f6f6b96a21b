package worker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// process is one running worker and the connection to it.
type process struct {
	sup     *supervisor
	app     string // the app's slug when it started, for messages
	cmd     *exec.Cmd
	conn    net.Conn
	w       *frameWriter
	started time.Time
	stderr  *crashNote

	nextID   atomic.Uint64
	nextInst atomic.Uint64

	gone chan struct{} // closed once the worker is reaped
	// hostSlots bounds the worker's host calls being served.
	hostSlots slots

	mu      sync.Mutex
	pending map[uint64]*pendingCall // by frame id
	// goroutines maps the worker goroutine of each loaded instance to it.
	goroutines map[uint64]uint64
	answered   bool  // the worker answered a frame: it started well
	dying      bool  // the connection ended: nothing more is sent
	dead       error // set once the worker is reaped
	culprits   map[uint64]bool
	// killedFor, when set, is why the host ended the worker; stuck is the
	// call it was ended for, if any.
	killedFor string
	crashed   bool
	stuck     uint64
}

// reusedCall is an instance's pendingCall and answer channel, reused
// from one call to the next: an instance makes one call at a time, and
// one whose call failed (abandoned, worker gone) drops it, so that no
// late answer or stale pending entry can reach its next call.
type reusedCall struct {
	pending pendingCall
	ch      chan *Frame
	// done is the callback of the call Start sent (nil for a Call);
	// settle, bound once, is its pendingCall's done.
	done   func(sandbox.Result)
	settle func(*Frame, error)
	in     *instance
}

func newReusedCall(in *instance) *reusedCall {
	r := &reusedCall{ch: make(chan *Frame, 1), in: in}
	r.settle = r.finish
	return r
}

// finish hands the answer of a started call to its callback. A failed
// call drops the slot from its instance: its pendingCall may still be
// in the process's table (abandoned), so the next call takes a new one.
func (r *reusedCall) finish(f *Frame, err error) {
	done := r.done
	r.done = nil
	switch {
	case err != nil:
		r.in.slot = nil
		done(sandbox.Result{Err: err})
	case f.GetResult() == nil:
		done(sandbox.Result{Err: errors.New("worker: answered a call with something else")})
	default:
		done(f.GetResult().sandboxResult())
	}
}

// pendingCall is a Load or Call waiting for its answer.
type pendingCall struct {
	ch chan *Frame // nil: the caller gave up, or done answers instead
	// done, when set, is called with the answer instead of a send on ch
	// (a call sent by Start): exactly once, by whichever of the reader,
	// the reaper and abandon settles the call, under no lock.
	done      func(*Frame, error)
	abandoned bool // the caller gave up on it
	inst      uint64
	load      bool
	// host serves the SDK v2 calls the script makes during a Call (nil:
	// none), within ctx, the caller's.
	host sdk.Host
	ctx  context.Context
}

// start spawns a worker with one end of a socketpair as its fd 3. The
// caller holds s.mu.
func (s *supervisor) start() (*process, error) {
	opts := s.engine.opts
	hostEnd, childEnd, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("worker for app %q: %w", s.app, err)
	}
	defer childEnd.Close()
	cmd := exec.Command(opts.Command[0], opts.Command[1:]...)
	cmd.Env = workerEnv(opts, s.app)
	cmd.ExtraFiles = []*os.File{childEnd}
	note := &crashNote{}
	cmd.Stderr = note
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		hostEnd.Close()
		return nil, fmt.Errorf("start worker for app %q: %w", s.app, err)
	}
	conn, err := net.FileConn(hostEnd)
	hostEnd.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("worker for app %q: socket: %w", s.app, err)
	}
	p := &process{sup: s, app: s.app, cmd: cmd, conn: conn, w: newFrameWriter(conn), started: time.Now(),
		stderr: note, gone: make(chan struct{}), pending: map[uint64]*pendingCall{}, goroutines: map[uint64]uint64{},
		hostSlots: make(slots, maxHostCalls)}
	s.engine.running.Add(1)
	go p.readLoop()
	s.engine.opts.Logger.Debug("worker started", slog.String("app", s.app), slog.Int("pid", cmd.Process.Pid))
	return p, nil
}

// runtimeEnv are the variables of the server's environment a worker
// gets: the Go runtime's knobs as the operator set them, and the time
// zone. Nothing else of it: it holds PICLOUD_ADMIN_PASSWORD, the
// database URL and whatever secret the operator keeps there.
func runtimeEnv() []string { return []string{"GOGC", "GODEBUG", "GORACE", "TZ"} }

// workerEnv is the whole environment of a worker of app, computed.
func workerEnv(opts Options, app string) []string {
	env := []string{
		"GOMAXPROCS=" + strconv.Itoa(opts.Procs),
		"GOMEMLIMIT=" + strconv.FormatInt(opts.MemoryLimit, 10),
		// A crash report names the goroutine that crashed, which tells
		// the host which script did it (see blame).
		"GOTRACEBACK=single",
		EnvMemoryLimit + "=" + strconv.FormatInt(opts.MemoryLimit, 10),
		EnvApp + "=" + app,
	}
	for _, k := range runtimeEnv() {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, opts.Env...)
}

func socketPair() (host, child *os.File, err error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "worker-host"), os.NewFile(uintptr(fds[1]), "worker-child"), nil
}

func (p *process) nextInstance() uint64 { return p.nextInst.Add(1) }

// roundTrip sends f, a Load or a Call of instance inst, under a fresh id
// and waits for the answer. When the worker dies first it fails with an
// error wrapping engine.ErrWorkerCrashed, and also engine.ErrCausedCrash
// when f is what killed it (see blame); when the worker was gone before
// f was sent, with engine.ErrInstanceLost; when ctx ends first, with
// ctx's error.
//
// slot, when not nil, is the caller's pendingCall to reuse (its channel
// empty, its previous call answered); nil allocates one.
func (p *process) roundTrip(ctx context.Context, f *Frame, inst uint64, slot *reusedCall) (*Frame, error) {
	id := p.nextID.Add(1)
	f.Id = id
	host := sdk.HostFrom(ctx)
	var c *pendingCall
	if slot != nil {
		slot.pending = pendingCall{ch: slot.ch, inst: inst, host: host, ctx: ctx}
		c = &slot.pending
	} else {
		c = &pendingCall{ch: make(chan *Frame, 1), inst: inst, load: f.GetLoad() != nil, host: host, ctx: ctx}
	}
	ch := c.ch
	p.mu.Lock()
	if p.dying {
		p.mu.Unlock()
		return nil, p.lostError()
	}
	p.pending[id] = c
	p.mu.Unlock()
	if err := p.w.write(f); err != nil {
		p.mu.Lock()
		_, unsent := p.pending[id]
		delete(p.pending, id)
		p.mu.Unlock()
		p.conn.Close() // the reader then reaps the worker
		if unsent {
			return nil, p.lostError()
		}
	}
	select {
	case ans := <-ch:
		if ans == nil {
			return nil, p.deathError(id)
		}
		return ans, nil
	case <-ctx.Done():
		p.abandon(id)
		return nil, fmt.Errorf("worker: %w", ctx.Err())
	}
}

// start sends f, a Call of instance inst, under a fresh id and returns:
// slot.settle gets the answer or the error roundTrip would have
// returned, on the goroutine that settles the call (the reader, the
// reaper, abandon, or this one when the worker is gone). cur is set to
// the call's id before it is sent, for abandon.
func (p *process) start(ctx context.Context, f *Frame, inst uint64, slot *reusedCall, cur *atomic.Uint64) {
	id := p.nextID.Add(1)
	f.Id = id
	slot.pending = pendingCall{done: slot.settle, inst: inst, host: sdk.HostFrom(ctx), ctx: ctx}
	cur.Store(id)
	p.mu.Lock()
	if p.dying {
		p.mu.Unlock()
		slot.settle(nil, p.lostError())
		return
	}
	p.pending[id] = &slot.pending
	p.mu.Unlock()
	if err := p.w.write(f); err != nil {
		p.mu.Lock()
		_, unsent := p.pending[id]
		delete(p.pending, id)
		p.mu.Unlock()
		p.conn.Close() // the reader then reaps the worker
		if unsent {
			slot.settle(nil, p.lostError())
		}
	}
}

// abandon forgets the caller of id; a started call's callback gets ctx's
// error (context.DeadlineExceeded: its time ran out) unless its answer
// came first. A worker that does not answer id within abandonGrace is
// stuck in the script and is killed.
func (p *process) abandon(id uint64) {
	var done func(*Frame, error)
	p.mu.Lock()
	if c, ok := p.pending[id]; ok && !p.dying && !c.abandoned {
		c.ch, c.abandoned = nil, true
		done, c.done = c.done, nil
		time.AfterFunc(abandonGrace, func() {
			p.mu.Lock()
			c, stuck := p.pending[id]
			stuck = stuck && c.abandoned
			p.mu.Unlock()
			if stuck {
				p.kill("a script kept running past its time limit", id)
			}
		})
	}
	p.mu.Unlock()
	if done != nil {
		done(nil, fmt.Errorf("worker: %w", context.DeadlineExceeded))
	}
}

// send writes f without waiting for an answer. A failed write means the
// worker is gone or going: the reader reaps it and says why.
func (p *process) send(f *Frame) {
	if err := p.w.write(f); err != nil {
		p.conn.Close()
	}
}

// forget drops what the process knows of instance inst.
func (p *process) forget(inst uint64) {
	p.mu.Lock()
	for g, i := range p.goroutines {
		if i == inst {
			delete(p.goroutines, g)
		}
	}
	p.mu.Unlock()
}

// failing reports whether the worker is dead or dying: nothing more is
// sent to it.
func (p *process) failing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dying
}

// readLoop delivers answers until the connection ends, then reaps the
// process and fails every call in flight.
func (p *process) readLoop() {
	r := bufio.NewReaderSize(p.conn, 64<<10)
	var buf []byte
	var readErr error
	for {
		payload, err := ReadFrame(r, buf)
		if err != nil {
			readErr = err
			break
		}
		buf = payload
		f, err := DecodeFrame(payload)
		if err != nil {
			readErr = err
			break
		}
		if hc := f.GetHostCall(); hc != nil {
			p.hostCall(f.Id, hc)
			continue
		}
		p.mu.Lock()
		p.answered = true
		c, ok := p.pending[f.Id]
		delete(p.pending, f.Id)
		if l := f.GetLoaded(); ok && c.load && l != nil && l.Error == nil && l.Goroutine != 0 {
			p.goroutines[l.Goroutine] = c.inst
		}
		var done func(*Frame, error)
		if ok {
			done, c.done = c.done, nil
		}
		p.mu.Unlock()
		switch {
		case done != nil:
			done(f, nil)
		case ok && c.ch != nil:
			c.ch <- f
		}
	}
	// From now on calls are not sent but lost: they may be retried in
	// the next worker, while those in flight died with this one.
	p.mu.Lock()
	p.dying = true
	p.mu.Unlock()
	p.reap(readErr)
}

// reap waits for the worker to exit, works out which calls in flight
// killed it, and answers every one of them.
func (p *process) reap(readErr error) {
	_ = p.cmd.Process.Kill() // it may still be alive after a protocol error
	waitErr := p.cmd.Wait()
	p.conn.Close()
	stderr := p.stderr.String()
	p.mu.Lock()
	reason := p.killedFor
	crashed := p.crashed || reason == ""
	if reason == "" {
		reason = exitReason(p.cmd.ProcessState, waitErr, stderr, readErr)
	}
	if crashed {
		p.culprits = blame(p.pending, p.goroutines, p.stuck, p.answered, p.cmd.ProcessState, stderr)
	}
	explained := p.stuck != 0 || len(p.culprits) > 0
	p.dead = fmt.Errorf("the worker of app %q %s: %w", p.app, reason, engine.ErrWorkerCrashed)
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for id, c := range pending {
		switch {
		case c.done != nil:
			c.done(nil, p.deathError(id))
		case c.ch != nil:
			c.ch <- nil
		}
	}
	p.sup.exited(p, crashed, explained, reason, time.Since(p.started))
	close(p.gone)
	p.sup.engine.running.Done()
}

// deathError is the error of call id, which was in flight when the
// worker died.
func (p *process) deathError(id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.culprits[id] {
		return fmt.Errorf("%w: %w", engine.ErrCausedCrash, p.dead)
	}
	return p.dead
}

// lostError is the error of a call the dying worker was never sent.
func (p *process) lostError() error {
	return fmt.Errorf("%w: the worker of app %q died: %w", engine.ErrInstanceLost, p.app, engine.ErrWorkerCrashed)
}

// kill ends the worker. stuck, when not 0, is the call it is ended for
// (a crash, blamed on that call); otherwise it is a deliberate stop.
func (p *process) kill(why string, stuck uint64) {
	p.mu.Lock()
	if p.killedFor == "" {
		p.killedFor, p.crashed, p.stuck = why, stuck != 0, stuck
	}
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
	p.conn.Close()
}

// exitReason says in a few words why a worker ended.
func exitReason(state *os.ProcessState, waitErr error, stderr string, readErr error) string {
	fatal := fatalLine(stderr)
	switch {
	case state == nil:
		return fmt.Sprintf("was lost (%v)", waitErr)
	case state.ExitCode() == ExitMemoryLimit:
		return "went over its memory limit"
	case fatal != "":
		return fmt.Sprintf("crashed (%s)", fatal)
	case state.ExitCode() >= 0:
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Sprintf("exited with status %d (%v)", state.ExitCode(), readErr)
		}
		if first, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n"); first != "" {
			return fmt.Sprintf("exited with status %d (%s)", state.ExitCode(), first)
		}
		return fmt.Sprintf("exited with status %d", state.ExitCode())
	}
	return "was killed (" + state.String() + ")"
}

// fatalLine is the first line of a Go runtime crash report.
func fatalLine(stderr string) string {
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ") {
			return line
		}
	}
	return ""
}

// crashNote keeps the start of a worker's stderr, where a Go runtime
// crash report says what happened; the thousands of lines of goroutine
// traces after it are dropped.
type crashNote struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const crashNoteSize = 8 << 10

func (c *crashNote) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := crashNoteSize - c.buf.Len(); room > 0 {
		c.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

func (c *crashNote) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
