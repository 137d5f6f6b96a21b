//go:build !linux

package worker

import (
	"fmt"
	"runtime"
)

func confineSupport() error {
	return fmt.Errorf("no syscall filter on %s", runtime.GOOS)
}

func confine() error { return confineSupport() }
