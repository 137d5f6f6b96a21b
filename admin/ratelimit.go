package admin

import (
	"math"
	"net"
	"strings"
	"sync"
	"time"
)

// failureLimiter counts failed attempts per key in token buckets: a key
// may fail burst times at once, and earns one more try every
// window/burst. Only failures take tokens, and a key without tokens is
// refused before its attempt is checked. A full bucket is the same as no
// bucket, so the map holds only keys that failed recently; at most
// maxKeys are kept, the least recently seen evicted first.
type failureLimiter struct {
	burst   float64
	refill  time.Duration // time to earn one token
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newFailureLimiter(burst int, window time.Duration, maxKeys int) *failureLimiter {
	return &failureLimiter{
		burst:   float64(burst),
		refill:  window / time.Duration(burst),
		maxKeys: maxKeys,
		buckets: make(map[string]*bucket),
	}
}

// level brings b up to date at now and returns its tokens.
func (l *failureLimiter) level(b *bucket, now time.Time) float64 {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(elapsed)/float64(l.refill))
		b.at = now
	}
	return b.tokens
}

// wait returns how long key must wait before its next attempt: zero when
// it may try now.
func (l *failureLimiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return 0
	}
	tokens := l.level(b, now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(l.refill))
}

// fail takes a token from key.
func (l *failureLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.level(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// forget drops key, as after a successful login.
func (l *failureLimiter) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

// sweep drops the keys whose buckets have filled up again.
func (l *failureLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *failureLimiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// evict makes room for one key: first by sweeping, then by dropping the
// key seen least recently.
func (l *failureLimiter) evict(now time.Time) {
	l.sweepLocked(now)
	if len(l.buckets) < l.maxKeys {
		return
	}
	var oldest string
	var at time.Time
	for k, b := range l.buckets {
		if oldest == "" || b.at.Before(at) {
			oldest, at = k, b.at
		}
	}
	delete(l.buckets, oldest)
}

// size returns how many keys are held.
func (l *failureLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// clientKey is the rate-limit key of a client address: the address for
// IPv4, its /64 network for IPv6 (one host usually holds a whole /64).
func clientKey(ip net.IP) string {
	if ip == nil {
		return "unknown"
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// userKey is the rate-limit key of a username: usernames are unique
// regardless of case, so their limits are too.
func userKey(username string) string {
	return strings.ToLower(username)
}
