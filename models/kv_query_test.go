package models_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

var noQuota = models.KVQuota{}

func TestKVSetGetDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app, other := newApp(t, db, "shop"), newApp(t, db, "blog")
		now := time.Now()

		if _, ok, err := db.KVGet(ctx, app.ID, "greeting", now); ok || err != nil {
			t.Fatalf("KVGet of a missing key = %v, %v; want false, nil", ok, err)
		}
		if err := db.KVSet(ctx, app.ID, "greeting", []byte("hello"), nil, noQuota, now); err != nil {
			t.Fatal(err)
		}
		if err := db.KVSet(ctx, app.ID, "greeting", []byte("hello\x00\xff again"), nil, noQuota, now); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.KVGet(ctx, app.ID, "greeting", now)
		if err != nil || !ok || string(got) != "hello\x00\xff again" {
			t.Fatalf("KVGet = %q, %v, %v; want the last value written", got, ok, err)
		}
		if _, ok, _ := db.KVGet(ctx, other.ID, "greeting", now); ok {
			t.Error("another app sees the key")
		}
		if err := db.KVSet(ctx, app.ID, "empty", nil, nil, noQuota, now); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := db.KVGet(ctx, app.ID, "empty", now); err != nil || !ok || len(got) != 0 {
			t.Errorf("KVGet of an empty value = %q, %v, %v", got, ok, err)
		}
		deleted, err := db.KVDelete(ctx, app.ID, "greeting", now)
		if err != nil || !deleted {
			t.Fatalf("KVDelete = %v, %v", deleted, err)
		}
		if _, ok, _ := db.KVGet(ctx, app.ID, "greeting", now); ok {
			t.Error("deleted key still there")
		}
		if deleted, _ := db.KVDelete(ctx, app.ID, "greeting", now); deleted {
			t.Error("deleting a missing key reports a deletion")
		}
	})
}

func TestKVInputBounds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		now := time.Now()
		past := now.Add(-time.Second)
		tests := []struct {
			name  string
			key   string
			value []byte
			exp   *time.Time
		}{
			{"empty key", "", nil, nil},
			{"key over 512 bytes", strings.Repeat("k", models.MaxKVKey+1), nil, nil},
			{"key not UTF-8", "a\xffb", nil, nil},
			{"key with NUL", "a\x00b", nil, nil},
			{"value over 1 MiB", "k", make([]byte, models.MaxKVValue+1), nil},
			{"expiry in the past", "k", nil, &past},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := db.KVSet(ctx, app.ID, tt.key, tt.value, tt.exp, noQuota, now)
				if !errors.Is(err, models.ErrKVInvalid) {
					t.Errorf("KVSet = %v, want ErrKVInvalid", err)
				}
			})
		}
		if err := db.KVSet(ctx, app.ID, strings.Repeat("é", models.MaxKVKey/2), make([]byte, models.MaxKVValue), nil, noQuota, now); err != nil {
			t.Errorf("KVSet at the limits: %v", err)
		}
	})
}

func TestKVExpiry(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		now := time.Now()
		exp := now.Add(time.Minute)
		if err := db.KVSet(ctx, app.ID, "session", []byte("s"), &exp, noQuota, now); err != nil {
			t.Fatal(err)
		}
		if err := db.KVSet(ctx, app.ID, "kept", []byte("k"), nil, noQuota, now); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := db.KVGet(ctx, app.ID, "session", exp.Add(-time.Millisecond)); !ok {
			t.Error("key gone before its expiry")
		}
		later := exp.Add(time.Millisecond)
		if _, ok, _ := db.KVGet(ctx, app.ID, "session", later); ok {
			t.Error("expired key returned by KVGet")
		}
		entries, _, err := db.KVList(ctx, app.ID, "", "", 0, later)
		if err != nil || len(entries) != 1 || entries[0].Key != "kept" {
			t.Errorf("KVList after expiry = %+v, %v; want only kept", entries, err)
		}
		if n, err := db.KVIncrement(ctx, app.ID, "session", 5, noQuota, later); err != nil || n != 5 {
			t.Errorf("KVIncrement of an expired key = %d, %v; want 5 (it starts again)", n, err)
		}
		if err := db.KVSet(ctx, app.ID, "session", []byte("s"), &exp, noQuota, now); err != nil {
			t.Fatal(err)
		}
		purged, err := db.PurgeExpiredKV(ctx, later)
		if err != nil || purged != 1 {
			t.Errorf("PurgeExpiredKV = %d, %v; want 1", purged, err)
		}
		if _, ok, _ := db.KVGet(ctx, app.ID, "kept", later); !ok {
			t.Error("purge removed a key without expiry")
		}
	})
}

func TestKVListByPrefixWithCursor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		now := time.Now()
		keys := []string{"user:1", "user:10", "user:2", "user:Z", "user:a", "user:é", "user;", "users", "zzz", "A"}
		for _, k := range keys {
			if err := db.KVSet(ctx, app.ID, k, []byte(k), nil, noQuota, now); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			entries, next, err := db.KVList(ctx, app.ID, "user:", cursor, 2, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				got = append(got, e.Key)
			}
			if next == "" {
				break
			}
			if page > 10 {
				t.Fatal("listing does not end")
			}
			cursor = next
		}
		want := []string{"user:1", "user:10", "user:2", "user:Z", "user:a", "user:é"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("KVList(user:) pages = %q, want %q (bytewise order, prefix only)", got, want)
		}
		all, next, err := db.KVList(ctx, app.ID, "", "", 100, now)
		if err != nil || len(all) != len(keys) || next != "" || all[0].Key != "A" {
			t.Errorf("KVList of everything = %d entries, next %q, err %v", len(all), next, err)
		}
		if _, _, err := db.KVList(ctx, app.ID, "", "not a cursor!", 10, now); !errors.Is(err, models.ErrKVInvalid) {
			t.Errorf("bad cursor: %v, want ErrKVInvalid", err)
		}
		if _, _, err := db.KVList(ctx, app.ID, "", "", models.MaxKVListLimit+1, now); !errors.Is(err, models.ErrKVInvalid) {
			t.Errorf("limit over the maximum: %v, want ErrKVInvalid", err)
		}
	})
}

func TestKVIncrement(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		now := time.Now()
		steps := []struct {
			delta, want int64
		}{{1, 1}, {41, 42}, {-50, -8}, {8, 0}}
		for _, s := range steps {
			n, err := db.KVIncrement(ctx, app.ID, "n", s.delta, noQuota, now)
			if err != nil || n != s.want {
				t.Fatalf("KVIncrement(%d) = %d, %v; want %d", s.delta, n, err, s.want)
			}
		}
		if v, _, _ := db.KVGet(ctx, app.ID, "n", now); string(v) != "0" {
			t.Errorf("counter reads %q, want \"0\"", v)
		}
		bad := []struct{ name, value string }{
			{"text", "abc"}, {"leading zero", "007"}, {"float", "1.5"}, {"binary", "\xff\x00"},
			{"too big", "99999999999999999999"}, {"empty", ""},
		}
		for _, b := range bad {
			if err := db.KVSet(ctx, app.ID, "x", []byte(b.value), nil, noQuota, now); err != nil {
				t.Fatal(err)
			}
			if n, err := db.KVIncrement(ctx, app.ID, "x", 1, noQuota, now); !errors.Is(err, models.ErrKVNotNumber) {
				t.Errorf("%s: KVIncrement = %d, %v; want ErrKVNotNumber", b.name, n, err)
			}
			if v, _, _ := db.KVGet(ctx, app.ID, "x", now); string(v) != b.value {
				t.Errorf("%s: a refused increment changed the value to %q", b.name, v)
			}
		}
		if err := db.KVSet(ctx, app.ID, "max", []byte(fmt.Sprint(int64(math.MaxInt64-1))), nil, noQuota, now); err != nil {
			t.Fatal(err)
		}
		if n, err := db.KVIncrement(ctx, app.ID, "max", 1, noQuota, now); err != nil || n != math.MaxInt64 {
			t.Errorf("KVIncrement to MaxInt64 = %d, %v", n, err)
		}
		if _, err := db.KVIncrement(ctx, app.ID, "max", 1, noQuota, now); !errors.Is(err, models.ErrKVNotNumber) {
			t.Errorf("overflow: %v, want ErrKVNotNumber", err)
		}
		if n, err := db.KVIncrement(ctx, app.ID, "max", math.MinInt64, noQuota, now); err != nil || n != -1 {
			t.Errorf("KVIncrement(MinInt64) = %d, %v; want -1", n, err)
		}
	})
}

// TestKVIncrementIsAtomic: 200 increments at once, from as many
// goroutines on one pool and from a second pool (as another process or
// node would), end at exactly 200.
func TestKVIncrementIsAtomic(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		second := testdb.Open(t, tg)
		app := newApp(t, db, "shop")
		ctx := context.Background()
		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			pool := db
			if i%2 == 1 {
				pool = second
			}
			wg.Go(func() {
				if _, err := pool.KVIncrement(ctx, app.ID, "hits", 1, models.KVQuota{MaxKeys: 10}, time.Now()); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if v, _, _ := db.KVGet(ctx, app.ID, "hits", time.Now()); string(v) != fmt.Sprint(n) {
			t.Errorf("counter = %s after %d increments", v, n)
		}
	})
}

func TestKVQuota(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		now := time.Now()
		quota := models.KVQuota{MaxKeys: 3, MaxBytes: 100}
		set := func(key string, size int) error {
			return db.KVSet(ctx, app.ID, key, make([]byte, size), nil, quota, now)
		}
		for _, k := range []string{"a", "b", "c"} {
			if err := set(k, 10); err != nil {
				t.Fatal(err)
			}
		}
		if err := set("d", 1); !errors.Is(err, models.ErrKVQuota) {
			t.Errorf("fourth key: %v, want ErrKVQuota", err)
		}
		if _, err := db.KVIncrement(ctx, app.ID, "d", 1, quota, now); !errors.Is(err, models.ErrKVQuota) {
			t.Errorf("fourth key by increment: %v, want ErrKVQuota", err)
		}
		if err := set("a", 5); err != nil {
			t.Errorf("shrinking a key at the quota: %v", err)
		}
		// b and c take 11 bytes each (key and value): a may take 78.
		if err := set("a", 78); !errors.Is(err, models.ErrKVQuota) {
			t.Errorf("growing past the byte quota: %v, want ErrKVQuota", err)
		}
		if err := set("a", 77); err != nil {
			t.Errorf("growing to exactly the byte quota: %v", err)
		}
		if v, _, _ := db.KVGet(ctx, app.ID, "a", now); len(v) != 77 {
			t.Errorf("a refused write changed the value")
		}
		// Expired keys count for nothing.
		exp := now.Add(time.Second)
		if err := db.KVSet(ctx, app.ID, "b", []byte("x"), &exp, quota, now); err != nil {
			t.Fatal(err)
		}
		if err := db.KVSet(ctx, app.ID, "d", nil, nil, quota, exp.Add(time.Millisecond)); err != nil {
			t.Errorf("a key in place of an expired one: %v", err)
		}
		// The app's own setting overrides the default.
		more := int64(10)
		if _, err := db.UpdateApp(ctx, app.ID, models.AppChange{Settings: &models.AppSettings{KVMaxKeys: &more}}); err != nil {
			t.Fatal(err)
		}
		if err := db.KVSet(ctx, app.ID, "e", nil, nil, models.KVQuota{MaxKeys: 3}, exp.Add(time.Millisecond)); err != nil {
			t.Errorf("with the app's own quota of 10 keys: %v", err)
		}
		use, err := db.KVUsage(ctx, app.ID, exp.Add(time.Millisecond))
		if err != nil || use.Keys != 4 {
			t.Errorf("KVUsage = %+v, %v; want 4 keys", use, err)
		}
	})
}
