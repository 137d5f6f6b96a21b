//go:build e2e

package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// testClockEnv names a file holding a Go duration (e.g. "23h") that
// this test build adds to the real time, read on every call, so
// end-to-end tests can move the clock of sessions without waiting.
const testClockEnv = "PICLOUD_TEST_CLOCK_FILE"

// newClock returns a clock offset by the file named by testClockEnv, or
// the real clock when the variable is unset.
func newClock(getenv func(string) string) (func() time.Time, error) {
	path := getenv(testClockEnv)
	if path == "" {
		return time.Now, nil
	}
	if _, err := readOffset(path); err != nil {
		return nil, err
	}
	return func() time.Time {
		off, err := readOffset(path)
		if err != nil {
			panic(err) // a broken test set-up, not a runtime condition
		}
		return time.Now().Add(off)
	}, nil
}

func readOffset(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", testClockEnv, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", testClockEnv, err)
	}
	return d, nil
}
