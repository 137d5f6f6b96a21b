package fdlimit_test

import (
	"syscall"
	"testing"

	"github.com/picloud/picloud/internal/fdlimit"
)

// TestRaiseReachesHardLimit lowers the soft limit (the Go runtime has
// already raised it) and checks Raise puts it back at the hard limit.
func TestRaiseReachesHardLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 256 {
		t.Skipf("hard open-file limit %d is too low to lower", lim.Max)
	}
	low := syscall.Rlimit{Cur: lim.Max / 2, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	got, err := fdlimit.Raise()
	if err != nil {
		t.Fatal(err)
	}
	var after syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after); err != nil {
		t.Fatal(err)
	}
	if got != lim.Max || after.Cur != lim.Max {
		t.Fatalf("Raise() = %d; soft limit now %d, want the hard limit %d", got, after.Cur, lim.Max)
	}
}
