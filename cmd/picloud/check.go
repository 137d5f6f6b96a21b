package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/picloud/picloud/worker"
)

// runCheck is `picloud check`: the upload check `picloud serve` runs in
// a short-lived process of its own. It reads a script on stdin and
// writes its verdict as JSON on stdout ({} when the script would load).
func runCheck(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := worker.CheckOptionsFromEnv(os.Getenv, logger)
	if err != nil {
		return err
	}
	if code := worker.RunCheck(ctx, stdin, stdout, opts); code != 0 {
		os.Exit(code)
	}
	return nil
}
