package main

import (
	"context"
	"log/slog"

	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/cli"
)

// startDevServer starts the throwaway server of `picloud dev`: the
// defaults, SQLite in opts.DataDir, opts.App answering on the server's
// own host, and only warnings in its log. It ignores the PICLOUD_*
// variables: it is never the user's real server.
func startDevServer(ctx context.Context, opts cli.DevServerOptions) (*cli.DevServer, error) {
	cfg := config.Default()
	cfg.DataDir = opts.DataDir
	cfg.Server.Listen = opts.Listen
	cfg.Server.DefaultApp = opts.App
	cfg.Log.Level = slog.LevelWarn
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, cfg, serverRun{
			stderr:        opts.Log,
			adminUsername: opts.Username,
			adminPassword: opts.Password,
			ready:         func(url string) { ready <- url },
		})
	}()
	select {
	case url := <-ready:
		return &cli.DevServer{URL: url, Stop: func() {
			cancel()
			<-done
		}}, nil
	case err := <-done:
		cancel()
		return nil, err
	}
}
