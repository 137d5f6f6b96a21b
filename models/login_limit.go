package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Login throttling's state (package admin owns the rules): token buckets
// of failures and marks of known keys, in tables every node on the
// database shares. Every change is one statement, an atomic upsert or a
// delete, so that nodes failing logins at once never lose a failure.
// Times are Unix nanoseconds: the bucket arithmetic is then plain
// numbers, the same SQL on SQLite and PostgreSQL.

// LoginBucket is one bucket of failures: Tokens left at At, under a limit
// of Burst failures earned back one every Refill.
type LoginBucket struct {
	bun.BaseModel `bun:"table:login_buckets,alias:lb" json:"-"`

	Key      string  `bun:"key,pk"`
	Tokens   float64 `bun:"tokens,notnull"`
	AtNS     int64   `bun:"at_ns,notnull"`
	Burst    int64   `bun:"burst,notnull"`
	RefillNS int64   `bun:"refill_ns,notnull"`
}

// At is when Tokens was last brought up to date.
func (b *LoginBucket) At() time.Time { return time.Unix(0, b.AtNS) }

// loginKnown marks a key as known until UntilNS.
type loginKnown struct {
	bun.BaseModel `bun:"table:login_known,alias:lk"`

	Key     string `bun:"key,pk"`
	UntilNS int64  `bun:"until_ns,notnull"`
}

// maxLoginKey bounds a key's length: keys are made of a username and an
// address, both bounded by package admin.
const maxLoginKey = 512

func checkLoginKey(key string) error {
	if key == "" || len(key) > maxLoginKey || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("login limit key %q: empty, longer than %d bytes or not valid text", key, maxLoginKey)
	}
	return nil
}

// LoginBucket returns key's bucket, or nil when it has none.
func (db *DB) LoginBucket(ctx context.Context, key string) (*LoginBucket, error) {
	if err := checkLoginKey(key); err != nil {
		return nil, err
	}
	b := new(LoginBucket)
	err := db.bun.NewSelect().Model(b).Where("key = ?", key).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read login bucket: %w", err)
	}
	return b, nil
}

// FailLogin takes a token from key's bucket at now, creating it full
// (burst tokens) if it has none: the bucket first earns back what
// refill gave it since it was last touched, up to burst, and never goes
// below zero. One atomic upsert.
func (db *DB) FailLogin(ctx context.Context, key string, burst int, refill time.Duration, now time.Time) error {
	if err := checkLoginKey(key); err != nil {
		return err
	}
	if burst < 1 || refill <= 0 {
		return fmt.Errorf("login bucket %q: burst %d and refill %s must be positive", key, burst, refill)
	}
	greatest, least := "GREATEST", "LEAST"
	if db.dialect == DialectSQLite {
		greatest, least = "MAX", "MIN" // SQLite's scalar forms
	}
	nowNS := now.UnixNano()
	// The tokens at now, before this failure: a clock slightly behind
	// another node's earns nothing and keeps the later time.
	level := fmt.Sprintf("%s(?::BIGINT, lb.tokens + %s(0, ?::BIGINT - lb.at_ns) * 1.0 / ?::BIGINT)", least, greatest)
	if db.dialect == DialectSQLite {
		level = strings.ReplaceAll(level, "::BIGINT", "")
	}
	q := fmt.Sprintf(`INSERT INTO login_buckets AS lb (key, tokens, at_ns, burst, refill_ns) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
	tokens = %s(0, %s - 1),
	at_ns = %s(lb.at_ns, EXCLUDED.at_ns),
	burst = EXCLUDED.burst,
	refill_ns = EXCLUDED.refill_ns`, greatest, level, greatest)
	refillNS := int64(refill)
	_, err := db.bun.ExecContext(ctx, q, key, float64(burst-1), nowNS, burst, refillNS, burst, nowNS, refillNS)
	if err != nil {
		return fmt.Errorf("count a failed login: %w", err)
	}
	return nil
}

// ForgetLogin drops key's bucket.
func (db *DB) ForgetLogin(ctx context.Context, key string) error {
	if err := checkLoginKey(key); err != nil {
		return err
	}
	if _, err := db.bun.NewDelete().Model((*LoginBucket)(nil)).Where("key = ?", key).Exec(ctx); err != nil {
		return fmt.Errorf("forget login failures: %w", err)
	}
	return nil
}

// RememberLogin marks key as known until the given time.
func (db *DB) RememberLogin(ctx context.Context, key string, until time.Time) error {
	if err := checkLoginKey(key); err != nil {
		return err
	}
	m := &loginKnown{Key: key, UntilNS: until.UnixNano()}
	_, err := db.bun.NewInsert().Model(m).On("CONFLICT (key) DO UPDATE").Set("until_ns = EXCLUDED.until_ns").Exec(ctx)
	if err != nil {
		return fmt.Errorf("remember a login: %w", err)
	}
	return nil
}

// KnownLogin reports whether key is marked known at now.
func (db *DB) KnownLogin(ctx context.Context, key string, now time.Time) (bool, error) {
	if err := checkLoginKey(key); err != nil {
		return false, err
	}
	ok, err := db.bun.NewSelect().Model((*loginKnown)(nil)).
		Where("key = ?", key).Where("until_ns > ?", now.UnixNano()).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("read a known login: %w", err)
	}
	return ok, nil
}

// SweepLogins drops what holds no information at now: buckets full
// again and expired marks. It returns how many rows went.
func (db *DB) SweepLogins(ctx context.Context, now time.Time) (int64, error) {
	nowNS := now.UnixNano()
	res, err := db.bun.NewDelete().Model((*LoginBucket)(nil)).
		Where("at_ns + (burst - tokens) * refill_ns <= ?", nowNS).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep login buckets: %w", err)
	}
	n, _ := res.RowsAffected()
	res, err = db.bun.NewDelete().Model((*loginKnown)(nil)).Where("until_ns <= ?", nowNS).Exec(ctx)
	if err != nil {
		return n, fmt.Errorf("sweep known logins: %w", err)
	}
	m, _ := res.RowsAffected()
	return n + m, nil
}
