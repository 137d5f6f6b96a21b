package admin

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
)

// BenchmarkLoginThrottle is what throttling adds to one failed login
// (wait, then failed: 3-4 reads and 3 upserts) and one successful login
// (wait, then succeeded), in each database. A login's
// Argon2id check costs tens of milliseconds besides.
func BenchmarkLoginThrottle(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ip := net.ParseIP("127.0.0.9")
	run := func(b *testing.B, store attemptStore) {
		th := newLoginThrottle(store)
		b.Run("failed", func(b *testing.B) {
			for b.Loop() {
				now = now.Add(time.Hour) // never throttled
				if _, err := th.wait(ctx, "root", ip, now); err != nil {
					b.Fatal(err)
				}
				if err := th.failed(ctx, "root", ip, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("succeeded", func(b *testing.B) {
			for b.Loop() {
				if _, err := th.wait(ctx, "root", ip, now); err != nil {
					b.Fatal(err)
				}
				if err := th.succeeded(ctx, "root", ip, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, tg := range testdb.Targets(b) {
		b.Run(tg.Name, func(b *testing.B) { run(b, dbAttempts{db: testdb.Open(b, tg)}) })
	}
}

// BenchmarkPasswordCheck is the Argon2id check every login pays, to
// compare with what throttling adds.
func BenchmarkPasswordCheck(b *testing.B) {
	hash := HashPassword(DefaultArgon2Params(), "correct horse")
	for b.Loop() {
		if ok, err := verifyPassword(hash, "wrong"); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
