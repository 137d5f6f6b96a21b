package admin

import (
	"context"
	"math"
	"net"
	"strings"
	"sync"
	"time"
)

// limit is a token bucket of failures: burst failures at once, and one
// more earned every window/burst.
type limit struct {
	burst  int
	window time.Duration
}

func (l limit) refill() time.Duration {
	return l.window / time.Duration(l.burst)
}

// attemptStore holds the state of login throttling: a bucket of failures
// per key, and the keys remembered as known (a user's known addresses).
//
// The in-memory store (memoryAttempts) holds it per node. A cluster
// (issue 11) needs a store all nodes share, a table in PostgreSQL, so that
// 20 tries per address mean 20 in all; hence the context and the error on
// every method, and keys and limits as plain values. A bucket needs only
// (key, tokens, at); Wait reads, Fail is one atomic update.
type attemptStore interface {
	// Wait returns how long key must wait, under l, before its next
	// attempt: zero when it may try now.
	Wait(ctx context.Context, key string, l limit, now time.Time) (time.Duration, error)
	// Fail takes a token from key's bucket.
	Fail(ctx context.Context, key string, l limit, now time.Time) error
	// Forget drops key's bucket.
	Forget(ctx context.Context, key string) error
	// Remember marks key as known until the given time; Known reports it.
	Remember(ctx context.Context, key string, until time.Time) error
	Known(ctx context.Context, key string, now time.Time) (bool, error)
	// Sweep drops what holds no information any more: full buckets and
	// expired marks.
	Sweep(ctx context.Context, now time.Time) error
}

// memoryAttempts is an attemptStore in this process's memory. A full
// bucket is the same as no bucket, so it holds only keys that failed
// recently; at most maxKeys buckets and maxKeys marks are kept, the least
// recently seen evicted first.
type memoryAttempts struct {
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
	known   map[string]time.Time
}

type bucket struct {
	limit  limit
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newMemoryAttempts(maxKeys int) *memoryAttempts {
	return &memoryAttempts{
		maxKeys: maxKeys,
		buckets: make(map[string]*bucket),
		known:   make(map[string]time.Time),
	}
}

// level brings b up to date at now and returns its tokens.
func (b *bucket) level(now time.Time) float64 {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(float64(b.limit.burst), b.tokens+float64(elapsed)/float64(b.limit.refill()))
		b.at = now
	}
	return b.tokens
}

func (m *memoryAttempts) Wait(_ context.Context, key string, l limit, now time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[key]
	if !ok {
		return 0, nil
	}
	b.limit = l
	tokens := b.level(now)
	if tokens >= 1 {
		return 0, nil
	}
	return time.Duration((1 - tokens) * float64(l.refill())), nil
}

func (m *memoryAttempts) Fail(_ context.Context, key string, l limit, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[key]
	if !ok {
		if len(m.buckets) >= m.maxKeys {
			m.evictBucket(now)
		}
		b = &bucket{limit: l, tokens: float64(l.burst), at: now}
		m.buckets[key] = b
	}
	b.limit = l
	b.level(now)
	b.tokens = math.Max(0, b.tokens-1)
	return nil
}

func (m *memoryAttempts) Forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.buckets, key)
	return nil
}

func (m *memoryAttempts) Remember(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.known[key]; !ok && len(m.known) >= m.maxKeys {
		m.evictMark()
	}
	m.known[key] = until
	return nil
}

func (m *memoryAttempts) Known(_ context.Context, key string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.known[key]
	return ok && now.Before(until), nil
}

func (m *memoryAttempts) Sweep(_ context.Context, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	return nil
}

func (m *memoryAttempts) sweepLocked(now time.Time) {
	for k, b := range m.buckets {
		if b.level(now) >= float64(b.limit.burst) {
			delete(m.buckets, k)
		}
	}
	for k, until := range m.known {
		if !now.Before(until) {
			delete(m.known, k)
		}
	}
}

// evictBucket makes room for one bucket: first by sweeping, then by
// dropping the bucket seen least recently.
func (m *memoryAttempts) evictBucket(now time.Time) {
	m.sweepLocked(now)
	if len(m.buckets) < m.maxKeys {
		return
	}
	var oldest string
	var at time.Time
	for k, b := range m.buckets {
		if oldest == "" || b.at.Before(at) {
			oldest, at = k, b.at
		}
	}
	delete(m.buckets, oldest)
}

// evictMark drops the mark that expires first.
func (m *memoryAttempts) evictMark() {
	var first string
	var at time.Time
	for k, until := range m.known {
		if first == "" || until.Before(at) {
			first, at = k, until
		}
	}
	delete(m.known, first)
}

// size returns how many buckets and marks are held.
func (m *memoryAttempts) size() (buckets, marks int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets), len(m.known)
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
// regardless of case, so their limits are too. Every name that cannot be
// a user shares one key, so that junk names cannot fill the store.
func userKey(username string) string {
	if !validUsername(username) {
		return "<invalid>" // "<" is in no valid username
	}
	return strings.ToLower(username)
}
