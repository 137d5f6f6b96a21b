package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/picloud/picloud/admin"
	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/server"
)

func migrate(ctx context.Context, path string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return err
	}
	db, err := server.OpenDB(ctx, cfg, server.NewLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// serve is `picloud serve`: the server of the config at path until ctx
// ends.
func serve(ctx context.Context, path string, stderr io.Writer) error {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return err
	}
	if n, ok := serverProcs(cfg, runtime.NumCPU(), os.Getenv); ok {
		runtime.GOMAXPROCS(n)
	}
	resolver, dial := fetchNetwork(os.Getenv)
	clock, err := newClock(os.Getenv)
	if err != nil {
		return err
	}
	return server.Run(ctx, cfg, server.Options{
		Log:           stderr,
		Version:       version,
		AdminUsername: os.Getenv(admin.EnvAdminUsername),
		AdminPassword: os.Getenv(admin.EnvAdminPassword),
		Now:           clock,
		FetchResolver: resolver,
		FetchDial:     dial,
	}, nil)
}

// serverProcs is the GOMAXPROCS of a server whose scripts run in worker
// processes, when the operator did not set one: the cores less those of
// one worker (executor.worker_procs). The server then only moves bytes
// between sockets, and on a small machine its extra Ps mostly wake
// threads that take the worker's core from it: on 2 cores, one P for the
// server gave 1.4 times the requests of two and a lower p99
// (docs/benchmarks.md). ok is false when nothing is to change (the
// operator's GOMAXPROCS, scripts in the server, workers as wide as the
// machine).
func serverProcs(cfg *config.Config, ncpu int, getenv func(string) string) (n int, ok bool) {
	if getenv("GOMAXPROCS") != "" || cfg.Executor.Isolation != config.IsolationProcess {
		return 0, false
	}
	n = ncpu - max(1, cfg.Executor.WorkerProcs)
	return n, n >= 1
}
