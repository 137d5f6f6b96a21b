package admin

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"
)

func TestMemoryAttempts(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := limit{burst: 3, window: 3 * time.Minute}
	m := newMemoryAttempts(100)
	wait := func(key string, at time.Time) time.Duration {
		t.Helper()
		w, err := m.Wait(ctx, key, l, at)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for i := range 3 {
		if w := wait("k", t0); w != 0 {
			t.Fatalf("failure %d: wait %s before the burst is spent", i, w)
		}
		_ = m.Fail(ctx, "k", l, t0)
	}
	if w := wait("k", t0); w != time.Minute {
		t.Fatalf("wait after the burst = %s, want 1m", w)
	}
	if w := wait("other", t0); w != 0 {
		t.Fatalf("another key waits %s", w)
	}
	if w := wait("k", t0.Add(40*time.Second)); w != 20*time.Second {
		t.Fatalf("wait 40s later = %s, want 20s", w)
	}
	if w := wait("k", t0.Add(time.Minute)); w != 0 {
		t.Fatalf("wait a minute later = %s, want 0", w)
	}
	_ = m.Forget(ctx, "k")
	if w := wait("k", t0); w != 0 {
		t.Fatalf("wait after forget = %s", w)
	}

	_ = m.Remember(ctx, "known", t0.Add(time.Hour))
	if ok, _ := m.Known(ctx, "known", t0.Add(59*time.Minute)); !ok {
		t.Fatal("a mark is not known before it expires")
	}
	if ok, _ := m.Known(ctx, "known", t0.Add(time.Hour)); ok {
		t.Fatal("a mark is known after it expired")
	}

	_ = m.Fail(ctx, "k", l, t0)
	_ = m.Sweep(ctx, t0.Add(time.Hour))
	if b, k := m.size(); b != 0 || k != 0 {
		t.Fatalf("after the sweep: %d buckets, %d marks, want none", b, k)
	}
}

// TestMemoryAttemptsBounded: a flood of keys never holds more than
// maxKeys, and the keys that failed most recently are kept.
func TestMemoryAttemptsBounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := limit{burst: 1, window: time.Hour}
	m := newMemoryAttempts(50)
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		_ = m.Fail(ctx, fmt.Sprintf("key%d", i), l, at)
		_ = m.Remember(ctx, fmt.Sprintf("mark%d", i), at.Add(time.Hour))
	}
	if b, k := m.size(); b > 50 || k > 50 {
		t.Fatalf("%d buckets and %d marks held, want at most 50 each", b, k)
	}
	if w, _ := m.Wait(ctx, "key999", l, t0.Add(time.Second)); w == 0 {
		t.Fatal("the latest key was evicted")
	}
	if ok, _ := m.Known(ctx, "mark999", t0.Add(time.Second)); !ok {
		t.Fatal("the latest mark was evicted")
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

func TestUserKey(t *testing.T) {
	if userKey("Alice") != userKey("aLICE") {
		t.Error("usernames differing in case have different keys")
	}
	if userKey("no such|name") != userKey(string(make([]byte, 1<<20))) {
		t.Error("names that are no username do not share one key")
	}
}
