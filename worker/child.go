package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// Environment a worker process is started with.
const (
	// EnvMemoryLimit is the worker's memory limit in bytes.
	EnvMemoryLimit = "PICLOUD_WORKER_MEMORY_LIMIT"
	// EnvApp is the slug of the app the worker runs, for its log.
	EnvApp = "PICLOUD_WORKER_APP"
)

// socketFD is the worker's end of the socketpair (the first ExtraFile).
const socketFD = 3

// Exit codes of a worker process. A fatal error of the Go runtime (stack
// overflow, out of memory, concurrent map writes) exits with 2.
const (
	ExitMemoryLimit = 3 // the memory watchdog ended the worker
	ExitBadStart    = 4 // started without a socket or with a bad environment
)

// maxStack bounds a goroutine's stack in a worker: unbounded recursion
// then ends the worker quickly instead of after growing a 1 GiB stack.
const maxStack = 64 << 20

// ChildOptions configure the worker side.
type ChildOptions struct {
	// MemoryLimit is the most memory the worker's Go runtime may map;
	// past it the worker exits with ExitMemoryLimit (0: no limit).
	MemoryLimit int64
	Logger      *slog.Logger
}

// ChildOptionsFromEnv reads the options the host passes in the
// environment.
func ChildOptionsFromEnv(getenv func(string) string, logger *slog.Logger) (ChildOptions, error) {
	opts := ChildOptions{Logger: logger}
	if s := getenv(EnvMemoryLimit); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return opts, fmt.Errorf("worker: %s=%q is not a byte count", EnvMemoryLimit, s)
		}
		opts.MemoryLimit = n
	}
	if app := getenv(EnvApp); app != "" && logger != nil {
		opts.Logger = logger.With(slog.String("app", app))
	}
	return opts, nil
}

// RunChild is `picloud worker`: it serves the host on the socket it was
// given as fd 3 until the host closes it, and returns the exit code.
func RunChild(ctx context.Context, opts ChildOptions) int {
	f := os.NewFile(socketFD, "picloud-worker-socket")
	if f == nil {
		return ExitBadStart
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		opts.logger().Error("picloud worker: no socket from the host; this command is started by `picloud serve`", slog.Any("error", err))
		return ExitBadStart
	}
	c := newChild(ctx, conn, opts)
	// From here on the worker only computes and talks over conn: it
	// drops the rights to open files, run programs and make sockets
	// before it compiles any script.
	lockDown("picloud worker", opts.logger())
	if err := c.serve(conn); err != nil {
		opts.logger().Error("picloud worker: connection to the host failed", slog.Any("error", err))
		return 1
	}
	return 0
}

func (o ChildOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// Serve answers the host on conn until it closes (nil) or sends a bad
// frame. It applies the memory limit to this whole process; unlike
// RunChild it does not confine it.
func Serve(ctx context.Context, conn net.Conn, opts ChildOptions) error {
	return newChild(ctx, conn, opts).serve(conn)
}

// newChild readies this process to serve scripts: stack and memory
// limits, and what the standard library would otherwise read from disk
// lazily, later, when a confined worker no longer can.
func newChild(ctx context.Context, conn net.Conn, opts ChildOptions) *child {
	dog := prepareProcess(opts.MemoryLimit, opts.logger())
	return &child{ctx: ctx, w: newFrameWriter(conn), dog: dog, instances: map[uint64]*served{}, hostWait: map[uint64]chan *HostAnswer{}}
}

func (c *child) serve(conn net.Conn) error {
	defer conn.Close()
	defer c.unloadAll()
	r := bufio.NewReaderSize(conn, 64<<10)
	var buf []byte
	for {
		payload, err := ReadFrame(r, buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		buf = payload
		f, err := DecodeFrame(payload)
		if err != nil {
			return err
		}
		c.handle(f)
	}
}

// child is the worker's state; only Serve's goroutine touches instances.
type child struct {
	ctx       context.Context
	w         *frameWriter
	dog       *watchdog
	instances map[uint64]*served // each served by its own goroutine

	// The host calls of running scripts waiting for their answers, by
	// frame id (see remoteHost).
	hostMu   sync.Mutex
	hostNext uint64
	hostWait map[uint64]chan *HostAnswer
}

// served is one loaded instance: its calls, and the switch that stops
// the call it is running.
type served struct {
	calls chan *Call
	// stop cancels the instance's context: the sandbox ends the call in
	// progress at once (the host gave up on it) and the instance is
	// unusable afterwards, which is fine, as it is being unloaded.
	stop context.CancelFunc
}

// callQueue is how many calls an instance may have queued; the host
// sends one at a time, so this is slack, not a queue.
const callQueue = 4

func (c *child) handle(f *Frame) {
	switch {
	case f.GetLoad() != nil:
		ctx, stop := context.WithCancel(c.ctx)
		s := &served{calls: make(chan *Call, callQueue), stop: stop}
		c.instances[f.GetLoad().Instance] = s
		go c.serveInstance(ctx, f.Id, f.GetLoad(), s.calls)
	case f.GetCall() != nil:
		call := f.GetCall()
		s, ok := c.instances[call.Instance]
		if !ok {
			c.reply(&Frame{Id: f.Id, Body: &Frame_Result{Result: &Result{Error: &Error{Kind: Error_KIND_INTERNAL,
				Message: fmt.Sprintf("worker: no instance %d", call.Instance)}}}})
			return
		}
		call.Instance = f.Id // Instance carries the call's id from here on
		s.calls <- call
	case f.GetHostAnswer() != nil:
		c.answerHost(f.Id, f.GetHostAnswer())
	case f.GetUnload() != nil:
		if s, ok := c.instances[f.GetUnload().Instance]; ok {
			// The host unloads an instance whose call ran out of time
			// as soon as it gives up on it: stopping that call here
			// spares the rest of the app's scripts a killed worker.
			s.stop()
			close(s.calls)
			delete(c.instances, f.GetUnload().Instance)
		}
	}
}

func (c *child) unloadAll() {
	for id, s := range c.instances {
		s.stop()
		close(s.calls)
		delete(c.instances, id)
	}
}

// serveInstance loads one script version, then runs its calls one at a
// time on this goroutine, whose stack stays grown between calls.
func (c *child) serveInstance(ctx context.Context, loadID uint64, load *Load, calls <-chan *Call) {
	c.dog.busy(1)
	inst, err := sandbox.New(ctx, load.Source, sandbox.Options{MaxOutput: int(load.MaxOutput), MaxResponseBody: int(load.MaxResponseBody)})
	c.dog.busy(-1)
	c.reply(&Frame{Id: loadID, Body: &Frame_Loaded{Loaded: &Loaded{Error: wireError(err), Goroutine: goroutineID()}}})
	var req sdk.Request
	var answer resultFrame
	for call := range calls {
		if err != nil {
			c.reply(&Frame{Id: call.Instance, Body: &Frame_Result{Result: &Result{Error: &Error{Kind: Error_KIND_INTERNAL, Message: "worker: script is not loaded"}}}})
			continue
		}
		call.GetRequest().fill(&req)
		c.dog.busy(1)
		out := inst.Call(sdk.WithHost(ctx, HostClient{Ask: (&remoteHost{c: c, call: call.Instance}).ask}), &req)
		c.dog.busy(-1)
		c.reply(answer.set(call.Instance, out))
	}
	if inst != nil {
		inst.Close()
	}
}

// goroutineID is the id of the calling goroutine, as crash reports print
// it ("goroutine 42 gp=... [running]:"), or 0.
func goroutineID() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	s, _, _ = strings.Cut(s, " ")
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}

// reply sends f; a broken connection ends Serve through its reader.
func (c *child) reply(f *Frame) {
	_ = c.w.write(f)
}

// wireError turns a sandbox error into its plain-data form.
func wireError(err error) *Error {
	if err == nil {
		return nil
	}
	var ce *sandbox.CompileError
	if errors.As(err, &ce) {
		return &Error{Kind: Error_KIND_COMPILE, Message: ce.Message, Line: int32(ce.Line), Column: int32(ce.Column)}
	}
	var pe *sandbox.PanicError
	if errors.As(err, &pe) {
		return &Error{Kind: Error_KIND_PANIC, Message: pe.Value, Line: int32(pe.Line), Column: int32(pe.Column), Func: pe.Func}
	}
	if errors.Is(err, sandbox.ErrResponseTooLarge) {
		return &Error{Kind: Error_KIND_RESPONSE_TOO_LARGE, Message: err.Error()}
	}
	return &Error{Kind: Error_KIND_INTERNAL, Message: err.Error()}
}

// asError is the inverse of wireError: the error a sandbox in this
// process would have returned.
func (e *Error) asError() error {
	if e == nil {
		return nil
	}
	switch e.Kind {
	case Error_KIND_COMPILE:
		return &sandbox.CompileError{Line: int(e.Line), Column: int(e.Column), Message: e.Message}
	case Error_KIND_PANIC:
		return &sandbox.PanicError{Value: e.Message, Line: int(e.Line), Column: int(e.Column), Func: e.Func}
	case Error_KIND_RESPONSE_TOO_LARGE:
		return responseTooLarge(e.Message)
	}
	return errors.New(e.Message)
}

// responseTooLarge is the worker's sandbox.ErrResponseTooLarge, message
// and all, so errors.Is works on this side of the socket.
type responseTooLarge string

func (e responseTooLarge) Error() string { return string(e) }

func (responseTooLarge) Is(target error) bool { return target == sandbox.ErrResponseTooLarge }
