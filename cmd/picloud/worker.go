package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/picloud/picloud/worker"
)

// runWorker is `picloud worker`: the executor host `picloud serve`
// starts for each app. It is not meant to be run by hand.
func runWorker(ctx context.Context, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := worker.ChildOptionsFromEnv(os.Getenv, logger)
	if err != nil {
		return err
	}
	if code := worker.RunChild(ctx, opts); code != 0 {
		os.Exit(code)
	}
	return nil
}
