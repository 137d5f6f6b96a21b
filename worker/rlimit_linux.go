package worker

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// addressSpaceSlack is what the worker may map beyond its memory limit
// and the address space it started with: goroutine stacks, the GC's own
// structures, arenas being mapped while the watchdog sleeps.
const addressSpaceSlack = 512 << 20

// limitAddressSpace sets RLIMIT_AS, the backstop behind the watchdog: a
// script that allocates and touches memory faster than the watchdog
// looks makes the runtime fail "out of memory" instead of exhausting
// the machine. The race detector maps terabytes of shadow memory, so
// race builds go without it.
func limitAddressSpace(limit int64, logger *slog.Logger) {
	if raceEnabled {
		return
	}
	base, err := vmSize()
	if err != nil {
		logger.Warn("picloud worker: address space not limited", slog.Any("error", err))
		return
	}
	max := uint64(base) + uint64(limit) + addressSpaceSlack
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: max, Max: max}); err != nil {
		logger.Warn("picloud worker: address space not limited", slog.Any("error", err))
	}
}

// vmSize is the process's current address space in bytes.
func vmSize() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, os.ErrNotExist
}
