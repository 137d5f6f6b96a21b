package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/internal/cli"
	"github.com/picloud/picloud/server"
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
	resolver, dial := fetchNetwork(os.Getenv)
	clock, err := newClock(os.Getenv)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, cfg, server.Options{
		Log:           opts.Log,
		Version:       version,
		AdminUsername: opts.Username,
		AdminPassword: opts.Password,
		Now:           clock,
		FetchResolver: resolver,
		FetchDial:     dial,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, err
	}
	return &cli.DevServer{
		URL:      srv.URL(),
		AdminURL: srv.AdminURL(),
		Stop: func() {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
			defer cancel()
			_ = srv.Shutdown(shutdownCtx) // logged
		},
	}, nil
}
