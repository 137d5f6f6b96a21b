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

// envWorkerChild makes the test binary act as `picloud worker`, for
// servers with executor.isolation "process".
const envWorkerChild = "PICLOUD_MULTINODE_TEST_WORKER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envCheckChild) == "1" {
		opts, err := worker.CheckOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunCheck(context.Background(), os.Stdin, os.Stdout, opts))
	}
	if os.Getenv(envWorkerChild) == "1" {
		opts, err := worker.ChildOptionsFromEnv(os.Getenv, slog.Default())
		if err != nil {
			os.Exit(worker.ExitBadStart)
		}
		os.Exit(worker.RunChild(context.Background(), opts))
	}
	os.Exit(m.Run())
}
