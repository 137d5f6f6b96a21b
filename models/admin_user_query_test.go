package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func newAdmin(t *testing.T, db *models.DB, name string) *models.AdminUser {
	t.Helper()
	u := &models.AdminUser{Username: name, PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"}
	if err := db.CreateAdminUser(context.Background(), u); err != nil {
		t.Fatalf("create admin %q: %v", name, err)
	}
	return u
}

func TestAdminUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)

		if n, err := db.CountAdminUsers(ctx); err != nil || n != 0 {
			t.Fatalf("CountAdminUsers on a fresh DB = %d, %v", n, err)
		}
		alice := newAdmin(t, db, "Alice")
		if alice.ID == 0 || alice.Role != models.RoleAdmin || alice.Disabled {
			t.Fatalf("created %+v", alice)
		}
		for _, name := range []string{"alice", "ALICE", "Alice"} {
			err := db.CreateAdminUser(ctx, &models.AdminUser{Username: name, PasswordHash: "x"})
			if !errors.Is(err, models.ErrConflict) {
				t.Errorf("CreateAdminUser(%q) = %v, want ErrConflict", name, err)
			}
		}
		for _, name := range []string{"alice", "ALICE", "aLiCe"} {
			got, err := db.AdminUserByName(ctx, name)
			if err != nil || got.ID != alice.ID || got.Username != "Alice" {
				t.Errorf("AdminUserByName(%q) = %+v, %v", name, got, err)
			}
		}
		if _, err := db.AdminUserByName(ctx, "bob"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("AdminUserByName(bob) = %v, want ErrNotFound", err)
		}
		if _, err := db.AdminUser(ctx, 999); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("AdminUser(999) = %v, want ErrNotFound", err)
		}
		err := db.CreateFirstAdminUser(ctx, &models.AdminUser{Username: "second", PasswordHash: "x"})
		if !errors.Is(err, models.ErrConflict) {
			t.Errorf("CreateFirstAdminUser with an admin present = %v, want ErrConflict", err)
		}
		users, err := db.ListAdminUsers(ctx)
		if err != nil || len(users) != 1 || users[0].PasswordHash == "" {
			t.Fatalf("ListAdminUsers = %+v, %v", users, err)
		}
	})
}

func TestLastActiveAdmin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		alice := newAdmin(t, db, "alice")
		bob := newAdmin(t, db, "bob")

		if _, err := db.SetAdminUserDisabled(ctx, 999, true); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("disable missing = %v, want ErrNotFound", err)
		}
		got, err := db.SetAdminUserDisabled(ctx, bob.ID, true)
		if err != nil || !got.Disabled {
			t.Fatalf("disable bob = %+v, %v", got, err)
		}
		if _, err := db.SetAdminUserDisabled(ctx, alice.ID, true); !errors.Is(err, models.ErrConflict) {
			t.Errorf("disable the last active admin = %v, want ErrConflict", err)
		}
		if err := db.DeleteAdminUser(ctx, alice.ID); !errors.Is(err, models.ErrConflict) {
			t.Errorf("delete the last active admin = %v, want ErrConflict", err)
		}
		if err := db.DeleteAdminUser(ctx, bob.ID); err != nil {
			t.Errorf("delete disabled bob = %v", err)
		}
		if err := db.DeleteAdminUser(ctx, bob.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("delete bob twice = %v, want ErrNotFound", err)
		}
	})
}

// TestLastActiveAdminRace: two admins disabling each other at once never
// leave no active admin.
func TestLastActiveAdminRace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		for round := range 5 {
			a := newAdmin(t, db, fmt.Sprintf("a%d", round))
			b := newAdmin(t, db, fmt.Sprintf("b%d", round))
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, id := range []int64{a.ID, b.ID} {
				wg.Go(func() { _, errs[i] = db.SetAdminUserDisabled(ctx, id, true) })
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: both or neither disable succeeded: %v, %v", round, errs[0], errs[1])
			}
			for _, err := range errs {
				if err != nil && !errors.Is(err, models.ErrConflict) {
					t.Fatalf("round %d: %v, want ErrConflict", round, err)
				}
			}
			// Exactly one stays active. Both go before the next round, the
			// active one behind the rule's back.
			users, _ := db.ListAdminUsers(ctx)
			active := 0
			for _, u := range users {
				if !u.Disabled {
					active++
				}
			}
			if active != 1 {
				t.Fatalf("round %d: %d active admins, want 1", round, active)
			}
			for _, u := range users {
				if u.Disabled {
					if err := db.DeleteAdminUser(ctx, u.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, u := range users {
				if !u.Disabled {
					if _, err := db.Bun().NewDelete().Table("admin_users").Where("id = ?", u.ID).Exec(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
}
