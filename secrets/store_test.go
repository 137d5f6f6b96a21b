package secrets_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/secrets"
)

func newApp(t *testing.T, db *models.DB, slug string) *models.App {
	t.Helper()
	app := &models.App{Slug: slug, Name: slug}
	if err := db.CreateApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	return app
}

func ring(t *testing.T, keys ...byte) *secrets.Keyring {
	t.Helper()
	var raw [][]byte
	for _, k := range keys {
		raw = append(raw, bytes.Repeat([]byte{k}, secrets.KeySize))
	}
	r, err := secrets.NewKeyring(raw...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const clear = "sk_live_0123456789abcdef"

func TestStore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app, other := newApp(t, db, "shop"), newApp(t, db, "blog")
		store := secrets.NewStore(db, ring(t, 1))

		sec, created, err := store.Put(ctx, app.ID, "STRIPE_KEY", clear)
		if err != nil || !created {
			t.Fatalf("Put = %v, created %v", err, created)
		}
		if v, ok, err := store.Value(ctx, app.ID, "STRIPE_KEY"); err != nil || !ok || v != clear {
			t.Fatalf("Value = %q, %v, %v", v, ok, err)
		}
		if _, ok, _ := store.Value(ctx, other.ID, "STRIPE_KEY"); ok {
			t.Error("another app reads the secret")
		}
		_, created, err = store.Put(ctx, app.ID, "STRIPE_KEY", "new")
		if err != nil || created {
			t.Fatalf("second Put = %v, created %v", err, created)
		}
		list, err := store.List(ctx, app.ID)
		if err != nil || len(list) != 1 || list[0].Fingerprint == sec.Fingerprint || !list[0].CreatedAt.Equal(sec.CreatedAt) {
			t.Errorf("List = %+v, %v; want one secret, created when first put, with a new fingerprint", list, err)
		}
		for _, bad := range []struct{ name, value string }{
			{"1ABC", "v"}, {"A-B", "v"}, {"", "v"}, {"OK", "\xff"}, {"OK", string(make([]byte, models.MaxSecretValue+1))},
		} {
			if _, _, err := store.Put(ctx, app.ID, bad.name, bad.value); err == nil {
				t.Errorf("Put(%q, %d bytes) succeeded", bad.name, len(bad.value))
			}
		}
		if err := store.Delete(ctx, app.ID, "STRIPE_KEY"); err != nil {
			t.Fatal(err)
		}
		if err := store.Delete(ctx, app.ID, "STRIPE_KEY"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second Delete = %v, want ErrNotFound", err)
		}
	})
}

// TestDatabaseHoldsOnlyCiphertext reads every column of every secrets
// row back as bytes: the clear value is in none of them, nor any
// encoding of it.
func TestDatabaseHoldsOnlyCiphertext(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		store := secrets.NewStore(db, ring(t, 1))
		if _, _, err := store.Put(ctx, app.ID, "STRIPE_KEY", clear); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Bun().QueryContext(ctx, "SELECT * FROM secrets")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			n++
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				for _, form := range []string{clear, fmt.Sprintf("%x", clear), "c2tfbGl2ZV8"} {
					if bytes.Contains(v, []byte(form)) {
						t.Errorf("column %s holds the secret (as %q)", cols[i], form)
					}
				}
			}
		}
		if n != 1 {
			t.Errorf("%d secrets rows, want 1", n)
		}
	})
}

func TestReseal(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		ctx := context.Background()
		app := newApp(t, db, "shop")
		old := secrets.NewStore(db, ring(t, 1))
		for _, name := range []string{"A", "B"} {
			if _, _, err := old.Put(ctx, app.ID, name, "value of "+name); err != nil {
				t.Fatal(err)
			}
		}
		rotated := secrets.NewStore(db, ring(t, 2, 1))
		n, err := rotated.Reseal(ctx)
		if err != nil || n != 2 {
			t.Fatalf("Reseal = %d, %v; want 2", n, err)
		}
		if n, err := rotated.Reseal(ctx); err != nil || n != 0 {
			t.Errorf("second Reseal = %d, %v; want 0", n, err)
		}
		newOnly := secrets.NewStore(db, ring(t, 2))
		if v, ok, err := newOnly.Value(ctx, app.ID, "A"); err != nil || !ok || v != "value of A" {
			t.Errorf("after the rotation the new key alone reads %q, %v, %v", v, ok, err)
		}
		if _, _, err := old.Value(ctx, app.ID, "A"); !errors.Is(err, secrets.ErrUnknownKey) {
			t.Errorf("the old key alone: %v, want ErrUnknownKey", err)
		}
		lost := secrets.NewStore(db, ring(t, 3))
		if n, err := lost.Reseal(ctx); n != 0 || !errors.Is(err, secrets.ErrUnknownKey) {
			t.Errorf("Reseal without the old key = %d, %v; want 0 and ErrUnknownKey", n, err)
		}
	})
}
