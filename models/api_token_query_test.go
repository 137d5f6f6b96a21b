package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestAPITokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		alice := newAdmin(t, db, "alice")
		bob := newAdmin(t, db, "bob")
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		expiry := t0.Add(time.Hour)

		create := func(u *models.AdminUser, name, hash string, expires *time.Time) (*models.APIToken, error) {
			tok := &models.APIToken{UserID: u.ID, Name: name, TokenHash: hash, CreatedAt: t0, ExpiresAt: expires}
			return tok, db.CreateAPIToken(ctx, tok)
		}
		ci, err := create(alice, "ci", "h-ci", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := create(alice, "deploy", "h-deploy", &expiry); err != nil {
			t.Fatal(err)
		}
		if _, err := create(bob, "ci", "h-bob", nil); err != nil {
			t.Errorf("another user's token named ci: %v", err)
		}
		if _, err := create(alice, "ci", "h-other", nil); !errors.Is(err, models.ErrConflict) {
			t.Errorf("a second token named ci = %v, want ErrConflict", err)
		}
		if _, err := create(&models.AdminUser{ID: 999}, "x", "h-x", nil); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("token of a missing user = %v, want ErrNotFound", err)
		}

		got, err := db.APITokenByHash(ctx, "h-ci")
		if err != nil || got.ID != ci.ID || got.User == nil || got.User.Username != "alice" || got.ExpiresAt != nil || got.LastUsedAt != nil {
			t.Fatalf("APITokenByHash(h-ci) = %+v, %v", got, err)
		}
		if _, err := db.APITokenByHash(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("APITokenByHash(nope) = %v, want ErrNotFound", err)
		}
		if err := db.TouchAPIToken(ctx, ci.ID, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListAPITokens(ctx, alice.ID)
		if err != nil || len(list) != 2 || list[0].Name != "ci" || list[1].Name != "deploy" {
			t.Fatalf("ListAPITokens(alice) = %+v, %v", list, err)
		}
		if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("last use of ci = %v", list[0].LastUsedAt)
		}
		if list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(expiry) || !list[1].Expired(expiry) || list[1].Expired(t0) {
			t.Errorf("expiry of deploy = %v", list[1].ExpiresAt)
		}

		// Revoking is per user: bob cannot revoke alice's token.
		if err := db.DeleteAPIToken(ctx, bob.ID, ci.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("bob revoking alice's token = %v, want ErrNotFound", err)
		}
		if err := db.DeleteAPIToken(ctx, alice.ID, ci.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.APITokenByHash(ctx, "h-ci"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("revoked token still found: %v", err)
		}

		n, err := db.PurgeExpiredAPITokens(ctx, expiry)
		if err != nil || n != 1 {
			t.Errorf("PurgeExpiredAPITokens = %d, %v; want 1 (deploy)", n, err)
		}
		if list, _ := db.ListAPITokens(ctx, bob.ID); len(list) != 1 {
			t.Errorf("bob's token without expiry was purged: %+v", list)
		}
	})
}
