package admin

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// TestAttemptStore: the database store's buckets spend, wait, earn back
// and forget; its marks expire; the sweep drops what holds nothing.
func TestAttemptStore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		var m attemptStore = dbAttempts{db: db}
		ctx := context.Background()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		l := limit{burst: 3, window: 3 * time.Minute}
		wait := func(key string, at time.Time) time.Duration {
			t.Helper()
			w, err := m.Wait(ctx, key, l, at)
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if w := wait("k", t0); w != 0 {
				t.Fatalf("failure %d: wait %s before the burst is spent", i, w)
			}
			must(m.Fail(ctx, "k", l, t0))
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
		must(m.Forget(ctx, "k"))
		if w := wait("k", t0); w != 0 {
			t.Fatalf("wait after forget = %s", w)
		}

		must(m.Remember(ctx, "known", t0.Add(time.Hour)))
		if ok, _ := m.Known(ctx, "known", t0.Add(59*time.Minute)); !ok {
			t.Fatal("a mark is not known before it expires")
		}
		if ok, _ := m.Known(ctx, "known", t0.Add(time.Hour)); ok {
			t.Fatal("a mark is known after it expired")
		}

		must(m.Fail(ctx, "k", l, t0))
		must(m.Sweep(ctx, t0.Add(time.Hour)))
		for _, table := range []string{"login_buckets", "login_known"} {
			n, err := db.Bun().NewSelect().Table(table).Count(ctx)
			if err != nil || n != 0 {
				t.Fatalf("after the sweep %s holds %d rows (%v), want none", table, n, err)
			}
		}
	})
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
