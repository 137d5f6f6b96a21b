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
)

// process is one running worker and the connection to it.
type process struct {
	sup     *supervisor
	cmd     *exec.Cmd
	conn    net.Conn
	w       *frameWriter
	started time.Time
	stderr  *crashNote

	nextID   atomic.Uint64
	nextInst atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan *Frame // nil channel: the caller gave up
	dead    error                  // set once the worker is gone
	// killedFor, when set, is why the host ended the worker on purpose.
	killedFor string
	crashed   bool
}

// start spawns a worker with one end of a socketpair as its fd 3.
func (s *supervisor) start() (*process, error) {
	opts := s.engine.opts
	hostEnd, childEnd, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("worker for app %q: %w", s.app, err)
	}
	defer childEnd.Close()
	cmd := exec.Command(opts.Command[0], opts.Command[1:]...)
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(opts.Procs), EnvMemoryLimit+"="+strconv.FormatInt(opts.MemoryLimit, 10), EnvApp+"="+s.app)
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
	p := &process{sup: s, cmd: cmd, conn: conn, w: newFrameWriter(conn), started: time.Now(),
		stderr: note, pending: map[uint64]chan *Frame{}}
	s.engine.running.Add(1)
	go p.readLoop()
	s.engine.opts.Logger.Debug("worker started", slog.String("app", s.app), slog.Int("pid", cmd.Process.Pid))
	return p, nil
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

// roundTrip sends f under a fresh id and waits for the answer. It fails
// with an error wrapping engine.ErrWorkerCrashed when the worker dies
// first, and with ctx's error when ctx ends first.
func (p *process) roundTrip(ctx context.Context, f *Frame) (*Frame, error) {
	id := p.nextID.Add(1)
	f.Id = id
	ch := make(chan *Frame, 1)
	p.mu.Lock()
	if p.dead != nil {
		p.mu.Unlock()
		return nil, p.dead
	}
	p.pending[id] = ch
	p.mu.Unlock()
	if err := p.w.write(f); err != nil {
		p.conn.Close() // the reader then reaps the worker and answers us
	}
	select {
	case ans := <-ch:
		if ans == nil {
			return nil, p.deathError()
		}
		return ans, nil
	case <-ctx.Done():
		p.abandon(id)
		return nil, fmt.Errorf("worker: %w", ctx.Err())
	}
}

// abandon forgets the caller of id. A worker that does not answer it
// within abandonGrace is stuck in the script and is killed.
func (p *process) abandon(id uint64) {
	p.mu.Lock()
	if _, ok := p.pending[id]; ok && p.dead == nil {
		p.pending[id] = nil
		time.AfterFunc(abandonGrace, func() {
			p.mu.Lock()
			ch, stuck := p.pending[id]
			p.mu.Unlock()
			if stuck && ch == nil {
				p.kill("a script kept running past its time limit", true)
			}
		})
	}
	p.mu.Unlock()
}

// send writes f without waiting for an answer. A failed write means the
// worker is gone or going: the reader reaps it and says why.
func (p *process) send(f *Frame) {
	if err := p.w.write(f); err != nil {
		p.conn.Close()
	}
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
		p.mu.Lock()
		ch, ok := p.pending[f.Id]
		delete(p.pending, f.Id)
		p.mu.Unlock()
		if ok && ch != nil {
			ch <- f
		}
	}
	p.reap(readErr)
}

// reap waits for the worker to exit and answers every call in flight.
func (p *process) reap(readErr error) {
	_ = p.cmd.Process.Kill() // it may still be alive after a protocol error
	waitErr := p.cmd.Wait()
	p.conn.Close()
	p.mu.Lock()
	reason := p.killedFor
	crashed := p.crashed || reason == ""
	if reason == "" {
		reason = exitReason(p.cmd.ProcessState, waitErr, p.stderr.String(), readErr)
	}
	p.dead = fmt.Errorf("the worker of app %q %s: %w", p.sup.app, reason, engine.ErrWorkerCrashed)
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, ch := range pending {
		if ch != nil {
			ch <- nil
		}
	}
	p.sup.exited(p, crashed, reason, time.Since(p.started))
	p.sup.engine.running.Done()
}

func (p *process) deathError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dead
}

// kill ends the worker; crashed says whether to count it as a crash
// (with backoff) or a deliberate stop.
func (p *process) kill(why string, crashed bool) {
	p.mu.Lock()
	if p.killedFor == "" {
		p.killedFor, p.crashed = why, crashed
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
