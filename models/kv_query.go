package models

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// kvLockClass is the first key of the PostgreSQL advisory lock that
// serializes the writes of one app that grow its storage, so that its
// quota holds however many processes write ("kv" in ASCII).
const kvLockClass = 0x6b76

// kvLive is the condition of an entry that has not expired at ?.
const kvLive = "(kv.expires_at IS NULL OR kv.expires_at > ?)"

// KVGet returns the value of the app's key as of at; false when the key
// does not exist or has expired.
func (db *DB) KVGet(ctx context.Context, appID int64, key string, at time.Time) ([]byte, bool, error) {
	e, err := db.KVEntry(ctx, appID, key, at)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return e.Value, true, nil
}

// KVEntry returns the app's live entry key, value included, or
// ErrNotFound.
func (db *DB) KVEntry(ctx context.Context, appID int64, key string, at time.Time) (*KVEntry, error) {
	if err := ValidateKVKey(key); err != nil {
		return nil, err
	}
	e := new(KVEntry)
	err := db.bun.NewSelect().Model(e).
		Where("kv.app_id = ?", appID).Where("kv.key = ?", key).Where(kvLive, normalizeTime(at)).
		Scan(ctx)
	if err != nil {
		return nil, notFound(err, "kv key %q of app %d", key, appID)
	}
	if e.Value == nil {
		e.Value = []byte{}
	}
	return e, nil
}

// KVSet stores value under the app's key, replacing what was there, to
// expire at expiresAt (nil: never). A write that grows the app's storage
// (a new key, a bigger value) is refused with ErrKVQuota when it would
// take the app past its quota: the app's own settings, else defaults.
// Concurrent writers to one key: the last write wins.
func (db *DB) KVSet(ctx context.Context, appID int64, key string, value []byte, expiresAt *time.Time, defaults KVQuota, at time.Time) error {
	if err := ValidateKVKey(key); err != nil {
		return err
	}
	if len(value) > MaxKVValue {
		return fmt.Errorf("%w: value is %d bytes, over the limit of %d", ErrKVInvalid, len(value), MaxKVValue)
	}
	at = normalizeTime(at)
	if expiresAt != nil {
		t := normalizeTime(*expiresAt)
		if !t.After(at) {
			return fmt.Errorf("%w: expiry %s is not in the future", ErrKVInvalid, t.Format(time.RFC3339Nano))
		}
		expiresAt = &t
	}
	if value == nil {
		value = []byte{}
	}
	e := &KVEntry{AppID: appID, Key: key, Value: value, Size: int64(len(key) + len(value)),
		ExpiresAt: expiresAt, UpdatedAt: at}
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var oldSize int64
		q := db.forUpdate(tx.NewSelect().Model((*KVEntry)(nil)).Column("kv.size").
			Where("kv.app_id = ?", appID).Where("kv.key = ?", key).Where(kvLive, at))
		err := q.Scan(ctx, &oldSize)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = db.checkKVQuota(ctx, tx, appID, key, e.Size, defaults, at)
		case err != nil:
			return fmt.Errorf("read kv key %q of app %d: %w", key, appID, err)
		case e.Size > oldSize:
			err = db.checkKVQuota(ctx, tx, appID, key, e.Size, defaults, at)
		}
		if err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(e).
			On("CONFLICT (app_id, key) DO UPDATE").
			Set("value = EXCLUDED.value").Set("size = EXCLUDED.size").
			Set("expires_at = EXCLUDED.expires_at").Set("updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("set kv key %q of app %d: %w", key, appID, err)
		}
		return nil
	})
}

// checkKVQuota refuses with ErrKVQuota when the app's live entries other
// than key, plus an entry of size for key, are over its quota. On
// PostgreSQL it first takes the app's lock, held until tx ends, so that
// two growing writes cannot both pass on the same usage; SQLite runs one
// write transaction at a time anyway. Its cost grows with the app's
// number of keys, which the quota bounds.
func (db *DB) checkKVQuota(ctx context.Context, tx bun.Tx, appID int64, key string, size int64, defaults KVQuota, at time.Time) error {
	if db.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, ?)", kvLockClass, int32(appID%math.MaxInt32)); err != nil {
			return fmt.Errorf("lock kv of app %d: %w", appID, err)
		}
	}
	quota, err := appKVQuota(ctx, tx, appID, defaults)
	if err != nil {
		return err
	}
	if quota.MaxKeys <= 0 && quota.MaxBytes <= 0 {
		return nil
	}
	var use KVUsage
	err = tx.NewSelect().Model((*KVEntry)(nil)).
		ColumnExpr("count(*) AS keys").ColumnExpr("coalesce(sum(kv.size), 0) AS bytes").
		Where("kv.app_id = ?", appID).Where("kv.key <> ?", key).Where(kvLive, at).
		Scan(ctx, &use.Keys, &use.Bytes)
	if err != nil {
		return fmt.Errorf("measure kv of app %d: %w", appID, err)
	}
	switch {
	case quota.MaxKeys > 0 && use.Keys+1 > quota.MaxKeys:
		return fmt.Errorf("%w: the app stores %d keys, its limit is %d", ErrKVQuota, use.Keys, quota.MaxKeys)
	case quota.MaxBytes > 0 && use.Bytes+size > quota.MaxBytes:
		return fmt.Errorf("%w: the app stores %d bytes, this entry is %d more, its limit is %d",
			ErrKVQuota, use.Bytes, size, quota.MaxBytes)
	}
	return nil
}

// appKVQuota is the app's own quota where it has one, else defaults.
func appKVQuota(ctx context.Context, idb bun.IDB, appID int64, defaults KVQuota) (KVQuota, error) {
	var s AppSettings
	err := idb.NewSelect().Model((*App)(nil)).Column("kv_max_keys", "kv_max_bytes").
		Where("id = ?", appID).Scan(ctx, &s.KVMaxKeys, &s.KVMaxBytes)
	if err != nil {
		return KVQuota{}, notFound(err, "app %d", appID)
	}
	return s.KVQuota(defaults), nil
}

// KVQuota is the app's quota: its settings where set, else defaults.
func (s AppSettings) KVQuota(defaults KVQuota) KVQuota {
	q := defaults
	if s.KVMaxKeys != nil {
		q.MaxKeys = *s.KVMaxKeys
	}
	if s.KVMaxBytes != nil {
		q.MaxBytes = *s.KVMaxBytes
	}
	return q
}

// KVDelete removes the app's key and reports whether a live key was
// there.
func (db *DB) KVDelete(ctx context.Context, appID int64, key string, at time.Time) (bool, error) {
	if err := ValidateKVKey(key); err != nil {
		return false, err
	}
	at = normalizeTime(at)
	res, err := db.bun.NewDelete().Model((*KVEntry)(nil)).
		Where("app_id = ?", appID).Where("key = ?", key).
		Where("(expires_at IS NULL OR expires_at > ?)", at).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delete kv key %q of app %d: %w", key, appID, err)
	}
	n, _ := res.RowsAffected()
	// An expired entry left for the purge goes too, unreported.
	_, err = db.bun.NewDelete().Model((*KVEntry)(nil)).
		Where("app_id = ?", appID).Where("key = ?", key).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delete kv key %q of app %d: %w", key, appID, err)
	}
	return n > 0, nil
}

// KVList returns up to limit live entries of the app whose keys start
// with prefix, in key order (bytewise), values left out, after the
// position cursor names ("" for the first page).
func (db *DB) KVList(ctx context.Context, appID int64, prefix, cursor string, limit int, at time.Time) ([]KVEntry, string, error) {
	switch {
	case limit == 0:
		limit = DefaultKVListLimit
	case limit < 0 || limit > MaxKVListLimit:
		return nil, "", fmt.Errorf("%w: limit must be between 1 and %d, got %d", ErrKVInvalid, MaxKVListLimit, limit)
	}
	if len(prefix) > MaxKVKey || !utf8.ValidString(prefix) {
		return nil, "", fmt.Errorf("%w: prefix must be valid UTF-8 of at most %d bytes", ErrKVInvalid, MaxKVKey)
	}
	q := db.bun.NewSelect().Model((*KVEntry)(nil)).
		Column("kv.key", "kv.size", "kv.expires_at", "kv.updated_at").
		Where("kv.app_id = ?", appID).Where(kvLive, normalizeTime(at)).
		OrderExpr("kv.key ASC").Limit(int64(limit + 1))
	if prefix != "" {
		q = q.Where("kv.key >= ?", prefix)
		if upper, ok := prefixUpperBound(prefix); ok {
			q = q.Where("kv.key < ?", upper)
		} else {
			q = q.Where("substr(kv.key, 1, ?) = ?", utf8.RuneCountInString(prefix), prefix)
		}
	}
	if cursor != "" {
		after, err := decodeKVCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("kv.key > ?", after)
	}
	entries := []KVEntry{}
	if err := q.Scan(ctx, &entries); err != nil {
		return nil, "", fmt.Errorf("list kv keys of app %d: %w", appID, err)
	}
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		next = encodeKVCursor(entries[limit-1].Key)
	}
	return entries, next, nil
}

// prefixUpperBound is the least string above every string that starts
// with prefix: prefix with its last rune raised by one. In bytewise order
// (UTF-8 keeps code point order) the keys k with prefix <= k < bound are
// exactly those that start with prefix.
func prefixUpperBound(prefix string) (string, bool) {
	r, size := utf8.DecodeLastRuneInString(prefix)
	next := r + 1
	if next == 0xD800 { // skip the surrogates, which UTF-8 cannot hold
		next = 0xE000
	}
	if r == utf8.RuneError || next > utf8.MaxRune {
		return "", false
	}
	return prefix[:len(prefix)-size] + string(next), true
}

func encodeKVCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

func decodeKVCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || len(b) > MaxKVKey || !utf8.Valid(b) {
		return "", fmt.Errorf("%w: cursor %q is not one a listing returned", ErrKVInvalid, cursor)
	}
	return string(b), nil
}

// KVIncrement adds delta to the integer stored under the app's key and
// returns the sum, atomically however many processes add at once: one
// UPSERT ... RETURNING. A missing or expired key counts as 0 and becomes
// a counter without expiry (checked against the quota first); a live key
// keeps its expiry. A value that is not a decimal int64, or a sum that
// would overflow one, is ErrKVNotNumber.
func (db *DB) KVIncrement(ctx context.Context, appID int64, key string, delta int64, defaults KVQuota, at time.Time) (int64, error) {
	if err := ValidateKVKey(key); err != nil {
		return 0, err
	}
	at = normalizeTime(at)
	exists, err := db.bun.NewSelect().Model((*KVEntry)(nil)).
		Where("kv.app_id = ?", appID).Where("kv.key = ?", key).Where(kvLive, at).Exists(ctx)
	if err != nil {
		return 0, fmt.Errorf("read kv key %q of app %d: %w", key, appID, err)
	}
	if exists {
		return db.kvUpsertSum(ctx, db.bun, appID, key, delta, at)
	}
	var sum int64
	err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := db.checkKVQuota(ctx, tx, appID, key, int64(len(key)+kvCounterSize), defaults, at); err != nil {
			return err
		}
		sum, err = db.kvUpsertSum(ctx, tx, appID, key, delta, at)
		return err
	})
	return sum, err
}

// kvUpsertSum is the statement of KVIncrement.
func (db *DB) kvUpsertSum(ctx context.Context, idb bun.IDB, appID int64, key string, delta int64, at time.Time) (int64, error) {
	// The old value may take delta without overflow when it lies in
	// [lo, hi].
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if delta > 0 {
		hi -= delta
	} else {
		lo -= delta
	}
	query := sqliteIncrement
	if db.dialect == DialectPostgres {
		query = postgresIncrement
	}
	start := []byte(strconv.FormatInt(delta, 10))
	var out []byte
	err := idb.NewRaw(query,
		appID, key, start, int64(len(key)+kvCounterSize), at, // the new row
		at, start, delta, at, at, // the SET
		at, lo, hi, // the WHERE
	).Scan(ctx, &out)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("%w: key %q holds a value that is not a decimal integer, or adding %d would overflow it",
			ErrKVNotNumber, key, delta)
	case err != nil:
		return 0, fmt.Errorf("increment kv key %q of app %d: %w", key, appID, err)
	}
	n, err := strconv.ParseInt(string(out), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("increment kv key %q of app %d: stored %q: %w", key, appID, out, err)
	}
	return n, nil
}

// The UPSERT of KVIncrement on each dialect. An expired row starts
// again from delta; a live one must hold a canonical decimal integer in
// [lo, hi], else the WHERE refuses it and nothing is returned.
const (
	sqliteIncrement = `INSERT INTO kv_entries AS kv (app_id, key, value, size, expires_at, updated_at)
VALUES (?, ?, ?, ?, NULL, ?)
ON CONFLICT (app_id, key) DO UPDATE SET
	value = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ? THEN ?
		ELSE CAST(CAST(CAST(CAST(kv.value AS TEXT) AS INTEGER) + ? AS TEXT) AS BLOB) END,
	size = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ? THEN excluded.size ELSE kv.size END,
	expires_at = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ? THEN NULL ELSE kv.expires_at END,
	updated_at = excluded.updated_at
WHERE (kv.expires_at IS NOT NULL AND kv.expires_at <= ?)
	OR (CAST(CAST(CAST(kv.value AS TEXT) AS INTEGER) AS TEXT) = CAST(kv.value AS TEXT)
		AND CAST(CAST(kv.value AS TEXT) AS INTEGER) BETWEEN ? AND ?)
RETURNING value`

	postgresIncrement = `INSERT INTO kv_entries AS kv (app_id, key, value, size, expires_at, updated_at)
VALUES (?, ?, ?, ?, NULL, ?)
ON CONFLICT (app_id, key) DO UPDATE SET
	value = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ? THEN ?
		ELSE convert_to((encode(kv.value, 'escape')::numeric + ?)::text, 'UTF8') END,
	size = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ? THEN excluded.size ELSE kv.size END,
	expires_at = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ? THEN NULL ELSE kv.expires_at END,
	updated_at = excluded.updated_at
WHERE (kv.expires_at IS NOT NULL AND kv.expires_at <= ?)
	OR (CASE WHEN encode(kv.value, 'escape') ~ '^(0|-{0,1}[1-9][0-9]{0,18})$'
		THEN encode(kv.value, 'escape')::numeric BETWEEN ? AND ? ELSE false END)
RETURNING value`
)

// KVUsage is what the app stores as of at.
func (db *DB) KVUsage(ctx context.Context, appID int64, at time.Time) (KVUsage, error) {
	var use KVUsage
	err := db.bun.NewSelect().Model((*KVEntry)(nil)).
		ColumnExpr("count(*) AS keys").ColumnExpr("coalesce(sum(kv.size), 0) AS bytes").
		Where("kv.app_id = ?", appID).Where(kvLive, normalizeTime(at)).
		Scan(ctx, &use.Keys, &use.Bytes)
	if err != nil {
		return KVUsage{}, fmt.Errorf("measure kv of app %d: %w", appID, err)
	}
	return use, nil
}

// PurgeExpiredKV deletes every entry that expired at or before at and
// returns how many it deleted. Reads never return such entries; this
// gives their space back.
func (db *DB) PurgeExpiredKV(ctx context.Context, at time.Time) (int64, error) {
	res, err := db.bun.NewDelete().Model((*KVEntry)(nil)).
		Where("expires_at IS NOT NULL").Where("expires_at <= ?", normalizeTime(at)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge expired kv entries: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
