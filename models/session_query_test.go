package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		alice := newAdmin(t, db, "alice")
		bob := newAdmin(t, db, "bob")
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

		newSession := func(u *models.AdminUser, hash string, expires time.Time) *models.Session {
			s := &models.Session{UserID: u.ID, TokenHash: hash, CreatedAt: t0, LastUsedAt: t0, ExpiresAt: expires}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		a1 := newSession(alice, "a1", t0.Add(time.Hour))
		newSession(alice, "a2", t0.Add(time.Hour))
		newSession(bob, "b1", t0.Add(time.Minute))
		if err := db.CreateSession(ctx, &models.Session{UserID: alice.ID, TokenHash: "a1"}); err == nil {
			t.Error("a duplicate token hash was stored")
		}
		if err := db.CreateSession(ctx, &models.Session{UserID: 999, TokenHash: "zz"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("session of a missing user = %v, want ErrNotFound", err)
		}

		s, err := db.SessionByTokenHash(ctx, "a1")
		if err != nil || s.ID != a1.ID || s.User == nil || s.User.Username != "alice" || !s.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("SessionByTokenHash(a1) = %+v, %v", s, err)
		}
		if _, err := db.SessionByTokenHash(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SessionByTokenHash(nope) = %v, want ErrNotFound", err)
		}
		if err := db.TouchSession(ctx, a1.ID, t0.Add(time.Minute), t0.Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.SessionByTokenHash(ctx, "a1"); !s.ExpiresAt.Equal(t0.Add(25*time.Hour)) || !s.LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("after touch: %+v", s)
		}

		// A password change keeps only the session that made it.
		if err := db.SetAdminUserPassword(ctx, alice.ID, "new", a1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByTokenHash(ctx, "a2"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a2 survived the password change: %v", err)
		}
		if _, err := db.SessionByTokenHash(ctx, "a1"); err != nil {
			t.Errorf("a1 did not survive the password change: %v", err)
		}
		if err := db.SetAdminUserPassword(ctx, 999, "new", 0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("password of a missing user = %v, want ErrNotFound", err)
		}

		n, err := db.PurgeExpiredSessions(ctx, t0.Add(2*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want 1 (b1)", n, err)
		}
		if _, err := db.SessionByTokenHash(ctx, "b1"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("b1 survived the purge: %v", err)
		}

		// Disabling a user ends all of its sessions.
		newSession(bob, "b2", t0.Add(time.Hour))
		if _, err := db.SetAdminUserDisabled(ctx, bob.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByTokenHash(ctx, "b2"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("b2 survived disabling bob: %v", err)
		}
		if err := db.DeleteSession(ctx, a1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByTokenHash(ctx, "a1"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a1 survived its deletion: %v", err)
		}
	})
}

func TestSetupFirstAdminUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		for _, h := range []string{"good", "other"} {
			if err := db.CreateSetupToken(ctx, h, t0, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateSetupToken(ctx, "old", t0.Add(-2*time.Hour), t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		user := func(name string) *models.AdminUser { return &models.AdminUser{Username: name, PasswordHash: "x"} }

		tests := []struct {
			name string
			hash string
			at   time.Time
			want error
		}{
			{"unknown token", "nope", t0, models.ErrNotFound},
			{"expired token", "old", t0, models.ErrNotFound},
			{"good token past its hour", "good", t0.Add(time.Hour), models.ErrNotFound},
			{"good token", "good", t0.Add(time.Minute), nil},
			{"good token again", "good", t0.Add(time.Minute), models.ErrNotFound},
			{"other token, spent with the first", "other", t0.Add(time.Minute), models.ErrNotFound},
		}
		for _, tt := range tests {
			err := db.SetupFirstAdminUser(ctx, tt.hash, tt.at, user("root-"+tt.hash))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("%s: SetupFirstAdminUser = %v, want %v", tt.name, err, tt.want)
			}
		}
		if n, _ := db.CountAdminUsers(ctx); n != 1 {
			t.Errorf("%d admin users, want 1", n)
		}

		// With an admin present a fresh token creates nobody.
		if err := db.CreateSetupToken(ctx, "late", t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetupFirstAdminUser(ctx, "late", t0, user("late")); !errors.Is(err, models.ErrConflict) {
			t.Errorf("setup with an admin present = %v, want ErrConflict", err)
		}
		if err := db.PurgeExpiredSetupTokens(ctx, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSetupTokenRace: one setup token used many times at once creates
// exactly one admin.
func TestSetupTokenRace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := db.CreateSetupToken(ctx, "tok", t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = db.SetupFirstAdminUser(ctx, "tok", t0, &models.AdminUser{Username: fmt.Sprintf("u%d", i), PasswordHash: "x"})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, models.ErrNotFound):
				t.Errorf("SetupFirstAdminUser = %v, want ErrNotFound for the losers", err)
			}
		}
		if count, _ := db.CountAdminUsers(ctx); ok != 1 || count != 1 {
			t.Fatalf("%d setups succeeded, %d admins; want 1 and 1", ok, count)
		}
	})
}
