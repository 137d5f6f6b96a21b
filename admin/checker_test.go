package admin_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/picloud/picloud/worker"
)

// envCheckChild makes the test binary act as `picloud check`, so the
// API's uploads are checked as in the server: in a checker process. It
// is read in init, before any test runs.
const envCheckChild = "PICLOUD_ADMIN_TEST_CHECKER"

func init() {
	if os.Getenv(envCheckChild) == "1" {
		opts, err := worker.CheckOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunCheck(context.Background(), os.Stdin, os.Stdout, opts))
	}
}

// testChecker checks sources in checker processes that are this test
// binary, with the server's default limits but for memory: a bomb then
// ends quickly.
func testChecker(t testing.TB) *worker.Checker {
	t.Helper()
	c, err := worker.NewChecker(worker.CheckerOptions{
		Command:     []string{os.Args[0]},
		Env:         []string{envCheckChild + "=1"},
		MemoryLimit: 64 << 20,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
