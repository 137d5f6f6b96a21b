package worker

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// readyCheckEvery bounds how often Ready starts a process: probes come
// every few seconds, and a process start is not free.
const readyCheckEvery = time.Minute

// startCheck remembers the last proof that a worker process can start.
type startCheck struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// Ready reports whether worker processes can start here: it starts the
// worker command with no socket, which must end at once with
// ExitBadStart. That proves the executable is there, may be executed and
// gets the resources to run. The answer is remembered for
// readyCheckEvery.
func (e *Engine) Ready(ctx context.Context) error {
	c := &e.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < readyCheckEvery {
		return c.err
	}
	c.err = e.tryStart(ctx)
	c.at = time.Now()
	return c.err
}

func (e *Engine) tryStart(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.opts.Command[0], e.opts.Command[1:]...)
	// The environment a real worker gets, so that what would stop one
	// (a bad GODEBUG, a memory limit it refuses) fails the probe too.
	cmd.Env = workerEnv(e.opts, "readyz")
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == ExitBadStart:
		return nil
	case err == nil:
		return fmt.Errorf("worker command %s ran without its socket and exited 0; want exit %d", e.opts.Command[0], ExitBadStart)
	}
	return fmt.Errorf("start worker command %s: %w", e.opts.Command[0], err)
}
