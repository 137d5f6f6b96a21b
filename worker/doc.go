// Package worker owns running scripts in supervised worker processes
// (`picloud worker`), so a script that kills the Go runtime it runs in
// (unbounded recursion, an allocation bomb, a fatal error) takes down
// only its worker, never the server or another app.
//
// The host side, Engine, is an engine.Engine: it starts one worker per
// app, talks to it over a unix socketpair with the framed protocol of
// worker.proto (length-prefixed protobuf, many calls multiplexed over one
// connection, writes batched until the queue drains), answers the calls
// in flight when a worker dies with engine.ErrWorkerCrashed (502), the
// one its death is blamed on also with engine.ErrCausedCrash (blame.go),
// restarts it on the next load (with a backoff only when no call is to
// blame), stops it when it has held no script for the idle timeout and
// kills it on shutdown. A worker gets a computed minimal environment,
// never the server's.
//
// The checker, RunCheck (`picloud check`), compiles an upload and runs
// its package-level initialisers out of the server's process; Checker
// starts it per upload, with a computed environment, under time and
// memory limits, and it confines itself as a worker does (lockdown.go).
//
// The child side, RunChild, confines its process (no_new_privs and a
// seccomp filter: no files, programs, sockets or signals to others) once
// its socket is set up and before it compiles any script, then builds
// sandbox instances and runs calls, one at a time per instance, under a
// memory limit it enforces itself: past it the worker exits with
// ExitMemoryLimit.
//
// The package never touches the database or the network, and it sits
// beside actors, not above it: it imports engine for the seam, so the
// `picloud worker` child links no actor runtime.
package worker
