//go:build !e2e

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestClockCannotBeMoved: the production build ignores the test clock
// variable, whatever it names.
func TestClockCannotBeMoved(t *testing.T) {
	file := filepath.Join(t.TempDir(), "offset")
	if err := os.WriteFile(file, []byte("1000h"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "PICLOUD_TEST_CLOCK_FILE" {
			return file
		}
		return ""
	}
	clock, err := newClock(env)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(clock()); d > time.Hour || d < -time.Hour {
		t.Fatalf("clock is %s off the real time", d)
	}
}
