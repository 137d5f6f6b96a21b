package main

import (
	"context"
	"fmt"
	"io"
	"os"

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
