package worker

import (
	"os"
	"strconv"
	"strings"
)

// blame returns the ids of the calls (and loads) in flight that killed
// their worker, from what is reliable about its death:
//
//   - a worker the host ended because a call kept running past its time
//     limit died of that call, which its caller gave up on and counted
//     already: nobody else is to blame;
//   - a Go runtime crash report (a stack overflow, an out-of-memory
//     abort) names the goroutine that crashed: the call in flight on the
//     instance served by that goroutine, or, for a goroutine not yet
//     known, the loads in flight (an instance's goroutine is learnt when
//     its load succeeds);
//   - otherwise (the memory watchdog, a signal, an unknown goroutine) it
//     cannot tell which call did it, and blames every one in flight;
//   - except for a worker that ended without a crash report before it
//     answered anything: it failed to start, which no script caused.
//
// pending, goroutines and stuck are the process's state at its death.
func blame(pending map[uint64]*pendingCall, goroutines map[uint64]uint64, stuck uint64, answered bool,
	state *os.ProcessState, stderr string) map[uint64]bool {
	if stuck != 0 || len(pending) == 0 {
		return nil
	}
	all := func(keep func(*pendingCall) bool) map[uint64]bool {
		out := map[uint64]bool{}
		for id, c := range pending {
			if keep(c) {
				out[id] = true
			}
		}
		return out
	}
	if g, ok := crashedGoroutine(stderr); ok {
		var named map[uint64]bool
		if inst, known := goroutines[g]; known {
			named = all(func(c *pendingCall) bool { return c.inst == inst && !c.load })
		} else {
			named = all(func(c *pendingCall) bool { return c.load })
		}
		if len(named) > 0 {
			return named
		}
	} else if !answered && (state == nil || state.ExitCode() != ExitMemoryLimit) {
		return nil
	}
	return all(func(*pendingCall) bool { return true })
}

// crashedGoroutine finds, in a Go runtime crash report, the goroutine
// that crashed: the first goroutine header after the "fatal error:" or
// "panic:" line ("goroutine 42 gp=0x... m=3 mp=0x... [running]:").
func crashedGoroutine(stderr string) (uint64, bool) {
	reported := false
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if !reported {
			reported = strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ")
			continue
		}
		rest, ok := strings.CutPrefix(line, "goroutine ")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, " ")
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}
