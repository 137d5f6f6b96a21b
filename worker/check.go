package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud/sandbox"
)

// This file holds the checker process: `picloud check` reads a script's
// source on stdin, checks it as an executor would load it
// (sandbox.Check: parse, compile, run the package-level initialisers)
// and writes its verdict on stdout as one JSON object. The server never
// compiles untrusted source itself: a generic function that instantiates
// itself with ever larger types, or a 120 KB `x+x+...` chain, would take
// its memory or its CPU. The checker runs under the worker's memory
// limit and is killed past its time limit; at most a few run at once.

// EnvCheckMemoryLimit is the checker's memory limit in bytes.
const EnvCheckMemoryLimit = "PICLOUD_CHECK_MEMORY_LIMIT"

// Defaults of CheckerOptions.
const (
	DefaultCheckTimeout     = 10 * time.Second
	DefaultMaxSource        = 256 << 10
	DefaultCheckConcurrency = 2
)

// Bounds of the protocol.
const (
	// maxCheckInput is the most a checker reads from stdin: the largest
	// executor.max_source.
	maxCheckInput = 16 << 20
	// maxVerdict is the most the host reads of a checker's stdout.
	maxVerdict = 64 << 10
	// maxVerdictMessage caps the message of a compile error in a
	// verdict (a message may quote the source).
	maxVerdictMessage = 4 << 10
)

// checkVerdict is what `picloud check` writes on stdout.
type checkVerdict struct {
	// Error is the problem in the source; nil when it passed.
	Error *sandbox.CompileError `json:"error,omitempty"`
	// Internal is a failure of the checker, not of the source.
	Internal string `json:"internal,omitempty"`
}

// CheckOptions configure the checker side.
type CheckOptions struct {
	// MemoryLimit is the most memory the checker's Go runtime may map;
	// past it the checker exits with ExitMemoryLimit (0: no limit).
	MemoryLimit int64
	Logger      *slog.Logger
}

// CheckOptionsFromEnv reads the options the host passes in the
// environment.
func CheckOptionsFromEnv(getenv func(string) string, logger *slog.Logger) (CheckOptions, error) {
	opts := CheckOptions{Logger: logger}
	if s := getenv(EnvCheckMemoryLimit); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return opts, fmt.Errorf("worker: %s=%q is not a byte count", EnvCheckMemoryLimit, s)
		}
		opts.MemoryLimit = n
	}
	return opts, nil
}

// RunCheck is `picloud check`: it checks the source read from stdin and
// writes the verdict to stdout. It returns the exit code: 0 once a
// verdict is written, whatever it says. Like a worker, it confines its
// process (no_new_privs, the seccomp filter) before it reads the source:
// the check compiles it and runs its package-level initialisers.
func RunCheck(ctx context.Context, stdin io.Reader, stdout io.Writer, opts CheckOptions) int {
	logger := opts.logger()
	prepareProcess(opts.MemoryLimit, logger).busy(1) // busy until the process ends
	lockDown("picloud check", logger)
	return check(ctx, stdin, stdout, logger)
}

// ServeCheck checks the source read from stdin and writes the verdict
// to stdout, as RunCheck does, but leaves this process unconfined (and
// without a memory limit): for tests of the protocol.
func ServeCheck(ctx context.Context, stdin io.Reader, stdout io.Writer, opts CheckOptions) int {
	return check(ctx, stdin, stdout, opts.logger())
}

func (o CheckOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func check(ctx context.Context, stdin io.Reader, stdout io.Writer, logger *slog.Logger) int {
	var v checkVerdict
	src, err := io.ReadAll(io.LimitReader(stdin, maxCheckInput+1))
	switch {
	case err != nil:
		v.Internal = "read the source: " + err.Error()
	case len(src) > maxCheckInput:
		v.Internal = fmt.Sprintf("the source is over %d bytes", maxCheckInput)
	default:
		v = verdictOf(sandbox.Check(ctx, string(src)))
	}
	if err := json.NewEncoder(stdout).Encode(v); err != nil {
		logger.Error("picloud check: write the verdict", slog.Any("err", err))
		return 1
	}
	return 0
}

// verdictOf is the verdict for what sandbox.Check returned.
func verdictOf(err error) checkVerdict {
	var ce *sandbox.CompileError
	switch {
	case err == nil:
		return checkVerdict{}
	case errors.As(err, &ce):
		c := *ce
		if len(c.Message) > maxVerdictMessage {
			c.Message = strings.ToValidUTF8(c.Message[:maxVerdictMessage], "") + " [...]"
		}
		return checkVerdict{Error: &c}
	}
	return checkVerdict{Internal: err.Error()}
}

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// Command is the checker's argv; default: this executable, "check".
	Command []string
	// Env is added to the checker's environment, which is otherwise
	// computed (checkerEnv), never inherited; tests add the variable
	// that makes a test binary a checker.
	Env []string
	// MemoryLimit is each check's memory limit in bytes (default
	// DefaultMemoryLimit): a script that needs more to load would not
	// load in a worker either.
	MemoryLimit int64
	// Timeout bounds one check, process start included.
	Timeout time.Duration
	// MaxSource is the largest source checked, in bytes.
	MaxSource int
	// Concurrency is how many checks may run at once; a check waits up
	// to Timeout for a slot.
	Concurrency int
	Logger      *slog.Logger
}

func (o CheckerOptions) withDefaults() (CheckerOptions, error) {
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("worker: find the picloud executable: %w", err)
		}
		o.Command = []string{exe, "check"}
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	if o.MaxSource <= 0 {
		o.MaxSource = DefaultMaxSource
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultCheckConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Checker checks script sources in short-lived checker processes. It is
// safe for concurrent use.
type Checker struct {
	opts  CheckerOptions
	slots chan struct{}
}

// NewChecker returns a Checker.
func NewChecker(opts CheckerOptions) (*Checker, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := confineSupport(); err != nil {
		opts.Logger.Warn("upload checks run without a syscall filter: scripts are held by the interpreter alone", slog.Any("err", err))
	}
	return &Checker{opts: opts, slots: make(chan struct{}, opts.Concurrency)}, nil
}

// Check checks source in a checker process. It returns nil when the
// source would load, a *sandbox.CompileError for a problem in it, an
// error wrapping sandbox.ErrSourceTooLarge, ErrCheckLimit (time, memory,
// a crash of the checker) or ErrCheckBusy when the check gave no
// verdict, ctx's error when ctx ended first, or another error when the
// checker could not run.
func (c *Checker) Check(ctx context.Context, source string) error {
	if len(source) > c.opts.MaxSource {
		return refusal(sandbox.ErrSourceTooLarge, "the source is %d bytes, over the limit of %d bytes (executor.max_source)",
			len(source), c.opts.MaxSource)
	}
	wait := time.NewTimer(c.opts.Timeout)
	defer wait.Stop()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-wait.C:
		return refusal(sandbox.ErrCheckBusy, "%d script checks have been running for %s (executor.max_checks); try again later",
			c.opts.Concurrency, c.opts.Timeout)
	case <-ctx.Done():
		return fmt.Errorf("check script: %w", ctx.Err())
	}
	return c.run(ctx, source)
}

// run starts one checker on source and reads its verdict.
func (c *Checker) run(ctx context.Context, source string) error {
	runCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.opts.Command[0], c.opts.Command[1:]...)
	cmd.Env = checkerEnv(c.opts)
	cmd.Stdin = strings.NewReader(source)
	stdout := &cappedWriter{max: maxVerdict}
	cmd.Stdout = stdout
	stderr := &crashNote{}
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second
	setParentDeathSignal(cmd)
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("check script: %w", ctx.Err())
	case runCtx.Err() != nil:
		return c.overLimit(fmt.Sprintf("the check of this script took longer than %s (executor.check_timeout)", c.opts.Timeout), took)
	case err != nil:
		return c.failed(cmd.ProcessState, err, stderr.String(), took)
	}
	var v checkVerdict
	if err := json.Unmarshal(stdout.buf.Bytes(), &v); err != nil {
		return fmt.Errorf("check script: the checker's verdict: %w", err)
	}
	switch {
	case v.Internal != "":
		return fmt.Errorf("check script: %s", v.Internal)
	case v.Error != nil:
		return v.Error
	}
	c.opts.Logger.Debug("script checked", slog.Duration("took", took))
	return nil
}

// failed explains a checker that ended without a verdict.
func (c *Checker) failed(state *os.ProcessState, err error, stderr string, took time.Duration) error {
	fatal := fatalLine(stderr)
	switch {
	case state == nil:
		return fmt.Errorf("check script: start the checker: %w", err)
	case state.ExitCode() == ExitMemoryLimit || strings.Contains(fatal, "out of memory"):
		return c.overLimit(fmt.Sprintf("the check of this script used more than %d MiB of memory (executor.memory_limit)", c.opts.MemoryLimit>>20), took)
	case fatal != "":
		return c.overLimit(fmt.Sprintf("the check of this script crashed its process (%s)", fatal), took)
	}
	return fmt.Errorf("check script: the checker ended without a verdict (%s): %w", state, err)
}

func (c *Checker) overLimit(why string, took time.Duration) error {
	c.opts.Logger.Warn("script refused: its check went over its limits", slog.String("reason", why), slog.Duration("took", took))
	return refusal(sandbox.ErrCheckLimit, "%s", why)
}

// checkerEnv is the whole environment of a checker, computed as a
// worker's is (workerEnv): its limits, the Go runtime's knobs and the
// time zone as the operator set them, and nothing else of the server's
// (no PICLOUD_ADMIN_PASSWORD, no database URL).
func checkerEnv(opts CheckerOptions) []string {
	env := []string{
		"GOMAXPROCS=1", // one core per check
		EnvCheckMemoryLimit + "=" + strconv.FormatInt(opts.MemoryLimit, 10),
	}
	// A race build (the e2e tests') otherwise sleeps a second before it
	// exits.
	race := "atexit_sleep_ms=0"
	for _, k := range runtimeEnv() {
		v, ok := os.LookupEnv(k)
		switch {
		case k == "GORACE" && ok:
			race = v + " " + race
		case k != "GORACE" && ok:
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "GORACE="+race)
	return append(env, opts.Env...)
}

// refusedCheck is a check that gave no verdict on the source: its
// message names the limit, and it is one of sandbox's ErrSourceTooLarge,
// ErrCheckLimit and ErrCheckBusy.
type refusedCheck struct {
	msg  string
	kind error
}

func refusal(kind error, format string, args ...any) error {
	return &refusedCheck{msg: fmt.Sprintf(format, args...), kind: kind}
}

func (e *refusedCheck) Error() string { return e.msg }
func (e *refusedCheck) Unwrap() error { return e.kind }

// cappedWriter keeps the first max bytes written to it.
type cappedWriter struct {
	buf bytes.Buffer
	max int
}

func (w *cappedWriter) Write(b []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}
