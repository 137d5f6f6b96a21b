package admin

import (
	"fmt"
	"net"
	"testing"
	"time"
)

func TestFailureLimiter(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newFailureLimiter(3, 3*time.Minute, 100)
	for i := range 3 {
		if w := l.wait("k", t0); w != 0 {
			t.Fatalf("failure %d: wait %s before the burst is spent", i, w)
		}
		l.fail("k", t0)
	}
	if w := l.wait("k", t0); w != time.Minute {
		t.Fatalf("wait after the burst = %s, want 1m", w)
	}
	if w := l.wait("other", t0); w != 0 {
		t.Fatalf("another key waits %s", w)
	}
	if w := l.wait("k", t0.Add(40*time.Second)); w != 20*time.Second {
		t.Fatalf("wait 40s later = %s, want 20s", w)
	}
	if w := l.wait("k", t0.Add(time.Minute)); w != 0 {
		t.Fatalf("wait a minute later = %s, want 0", w)
	}
	l.forget("k")
	if w := l.wait("k", t0); w != 0 {
		t.Fatalf("wait after forget = %s", w)
	}
	l.fail("k", t0)
	l.sweep(t0.Add(time.Minute))
	if l.size() != 0 {
		t.Fatalf("a refilled bucket survived the sweep")
	}
}

// TestFailureLimiterBounded: a flood of keys never holds more than
// maxKeys, and the keys that failed most recently are kept.
func TestFailureLimiterBounded(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newFailureLimiter(1, time.Hour, 50)
	for i := range 1000 {
		l.fail(fmt.Sprintf("key%d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := l.size(); n > 50 {
		t.Fatalf("%d keys held, want at most 50", n)
	}
	if w := l.wait("key999", t0.Add(time.Second)); w == 0 {
		t.Fatal("the latest key was evicted")
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		if got := clientKey(net.ParseIP(tt.ip)); got != tt.want {
			t.Errorf("clientKey(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
	if clientKey(nil) != "unknown" {
		t.Error("clientKey(nil)")
	}
}
