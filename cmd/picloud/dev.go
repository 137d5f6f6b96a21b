package main

import (
	"context"
	"log/slog"

	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/cli"
)

// startDevServer starts the throwaway server of `picloud dev`: the
// defaults, SQLite in opts.DataDir, opts.App answering on the server's
// own host, the admin API on the default admin host (admin.localhost on
// the server's port, which the CLI dials on loopback), and only warnings
// in its log. It ignores the PICLOUD_*
// variables: it is never the user's real server.
func startDevServer(ctx context.Context, opts cli.DevServerOptions) (*cli.DevServer, error) {
	cfg := config.Default()
	cfg.DataDir = opts.DataDir
	cfg.Server.Listen = opts.Listen
	cfg.Server.DefaultApp = opts.App
	cfg.Log.Level = slog.LevelWarn
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan cli.DevServer, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, cfg, serverRun{
			stderr:        opts.Log,
			adminUsername: opts.Username,
			adminPassword: opts.Password,
			ready: func(url, adminURL string) {
				ready <- cli.DevServer{URL: url, AdminURL: adminURL}
			},
		})
	}()
	select {
	case srv := <-ready:
		srv.Stop = func() {
			cancel()
			<-done
		}
		return &srv, nil
	case err := <-done:
		cancel()
		return nil, err
	}
}
