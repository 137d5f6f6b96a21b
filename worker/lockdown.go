package worker

import (
	"log/slog"
	"runtime/debug"
	"time"
)

// This file holds what every process that runs untrusted source does
// before it compiles any: a worker (RunChild) and a checker (RunCheck)
// alike. They share it so that the checker, which compiles and runs the
// package-level initialisers of every upload, is held as a worker is.

// prepareProcess sets the limits of a process that runs scripts (its
// goroutines' stack, its memory) and loads what the standard library
// would otherwise read from disk lazily, later, when a confined process
// no longer can. The returned watchdog enforces the memory limit.
func prepareProcess(memoryLimit int64, logger *slog.Logger) *watchdog {
	debug.SetMaxStack(maxStack)
	dog := startWatchdog(memoryLimit, logger) // reads /proc before confine
	_, _ = time.Now().In(time.Local).Zone()   // loads the local time zone
	return dog
}

// lockDown confines this process for good (no_new_privs and the seccomp
// filter of confine: no files, programs, sockets or signals to others).
// Where that is impossible it says so in the process's log and goes on:
// the interpreter is then the only wall. who names the process.
func lockDown(who string, logger *slog.Logger) {
	if err := confine(); err != nil {
		logger.Warn(who+": runs without a syscall filter", slog.Any("error", err))
	}
}
