package models_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// TestLoginBuckets: a bucket starts full, loses a token per failure,
// earns them back with time up to its burst, never goes below zero, and
// loses none of the failures made at once by many connections.
func TestLoginBuckets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		tokens := func(key string) float64 {
			t.Helper()
			b, err := db.LoginBucket(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if b == nil {
				return math.NaN()
			}
			return b.Tokens
		}
		fail := func(key string, burst int, refill time.Duration, at time.Time) {
			t.Helper()
			if err := db.FailLogin(ctx, key, burst, refill, at); err != nil {
				t.Fatal(err)
			}
		}
		if b, err := db.LoginBucket(ctx, "none"); b != nil || err != nil {
			t.Fatalf("LoginBucket(none) = %v, %v", b, err)
		}
		for range 7 {
			fail("k", 5, time.Minute, t0)
		}
		if got := tokens("k"); got != 0 {
			t.Errorf("after 7 failures of a burst of 5: %v tokens, want 0", got)
		}
		fail("k", 5, time.Minute, t0.Add(150*time.Second)) // earned 2.5, spent 1
		if got := tokens("k"); math.Abs(got-1.5) > 1e-9 {
			t.Errorf("tokens %v, want 1.5", got)
		}
		fail("k", 5, time.Minute, t0.Add(100*time.Second)) // a clock behind earns nothing
		if got := tokens("k"); math.Abs(got-0.5) > 1e-9 {
			t.Errorf("tokens %v, want 0.5", got)
		}
		fail("k", 5, time.Minute, t0.Add(time.Hour)) // full again, then one less
		if got := tokens("k"); got != 4 {
			t.Errorf("tokens %v, want 4", got)
		}

		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if err := db.FailLogin(ctx, "busy", 20, time.Minute, t0); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := tokens("busy"); got != 4 {
			t.Errorf("16 failures at once left %v of 20 tokens, want 4", got)
		}

		// The sweep drops buckets full again and expired marks only.
		fail("fresh", 5, time.Minute, t0.Add(2*time.Hour))
		if err := db.RememberLogin(ctx, "known:a", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.RememberLogin(ctx, "known:b", t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.RememberLogin(ctx, "known:b", t0.Add(4*time.Hour)); err != nil { // upsert
			t.Fatal(err)
		}
		n, err := db.SweepLogins(ctx, t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 { // k (full at t0+1h+1min), busy, known:a
			t.Errorf("the sweep dropped %d rows, want 3", n)
		}
		if !math.IsNaN(tokens("k")) || tokens("fresh") != 4 {
			t.Errorf("after the sweep: k %v (want gone), fresh %v (want 4)", tokens("k"), tokens("fresh"))
		}
		for key, want := range map[string]bool{"known:a": false, "known:b": true, "known:c": false} {
			got, err := db.KnownLogin(ctx, key, t0.Add(2*time.Hour))
			if err != nil || got != want {
				t.Errorf("KnownLogin(%s) = %v, %v; want %v", key, got, err, want)
			}
		}
		if err := db.ForgetLogin(ctx, "fresh"); err != nil || !math.IsNaN(tokens("fresh")) {
			t.Errorf("ForgetLogin: %v, tokens %v", err, tokens("fresh"))
		}
		if err := db.FailLogin(ctx, "bad\x00key", 5, time.Minute, t0); err == nil {
			t.Error("a key with NUL was accepted")
		}
	})
}
