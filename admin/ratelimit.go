package admin

import (
	"context"
	"math"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
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
// It lives in the database (dbAttempts), on SQLite too: the nodes of a
// cluster (issue 11) share it, so that 20 tries per address mean 20 in
// all, and a restart forgets nothing. A bucket needs only (key, tokens,
// at); Wait reads, Fail is one atomic update. What it costs a login,
// against the Argon2id check every login pays, is in
// BenchmarkLoginThrottle.
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

// bucket is a token bucket brought up to date lazily.
type bucket struct {
	limit  limit
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// level brings b up to date at now and returns its tokens.
func (b *bucket) level(now time.Time) float64 {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(float64(b.limit.burst), b.tokens+float64(elapsed)/float64(b.limit.refill()))
		b.at = now
	}
	return b.tokens
}

// dbAttempts is an attemptStore in the database (models' login_buckets
// and login_known), shared by every node on it: a failure is one atomic
// upsert, so failures counted at once on several nodes all count. The
// janitor's Sweep bounds it: what it holds is what failed within the
// limits' windows, and a known address per user and address for 30 days.
type dbAttempts struct {
	db *models.DB
}

func (d dbAttempts) Wait(ctx context.Context, key string, l limit, now time.Time) (time.Duration, error) {
	row, err := d.db.LoginBucket(ctx, key)
	if err != nil || row == nil {
		return 0, err
	}
	b := bucket{limit: l, tokens: row.Tokens, at: row.At()}
	tokens := b.level(now)
	if tokens >= 1 {
		return 0, nil
	}
	return time.Duration((1 - tokens) * float64(l.refill())), nil
}

func (d dbAttempts) Fail(ctx context.Context, key string, l limit, now time.Time) error {
	return d.db.FailLogin(ctx, key, l.burst, l.refill(), now)
}

func (d dbAttempts) Forget(ctx context.Context, key string) error {
	return d.db.ForgetLogin(ctx, key)
}

func (d dbAttempts) Remember(ctx context.Context, key string, until time.Time) error {
	return d.db.RememberLogin(ctx, key, until)
}

func (d dbAttempts) Known(ctx context.Context, key string, now time.Time) (bool, error) {
	return d.db.KnownLogin(ctx, key, now)
}

func (d dbAttempts) Sweep(ctx context.Context, now time.Time) error {
	_, err := d.db.SweepLogins(ctx, now)
	return err
}

// clientIP is the address of the client of ctx: its TCP peer, or behind
// a trusted proxy the address the proxies forwarded (package clientip).
func (a *API) clientIP(ctx *fasthttp.RequestCtx) net.IP {
	return a.proxies.Of(ctx)
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
