package multinode_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/picloud/picloud/worker"
)

// envCheckChild makes the test binary act as `picloud check`, the
// upload checker every server starts per upload.
const envCheckChild = "PICLOUD_MULTINODE_TEST_CHECK_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envCheckChild) == "1" {
		opts, err := worker.CheckOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunCheck(context.Background(), os.Stdin, os.Stdout, opts))
	}
	os.Exit(m.Run())
}
