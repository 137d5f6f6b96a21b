package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// TestSessionRecordsHostileText: a session's user agent and address are
// recorded text too: a NUL or invalid UTF-8 is stored readable, and an
// overlong one cut, instead of failing the login.
func TestSessionRecordsHostileText(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		alice := newAdmin(t, db, "alice")
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		s := &models.Session{UserID: alice.ID, TokenHash: "h", CreatedAt: t0, LastUsedAt: t0, ExpiresAt: t0.Add(time.Hour),
			UserAgent: "curl\x00\xff" + strings.Repeat("x", 2*models.MaxRecordedUserAgent), IP: "127.0.0.1\x00"}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := db.SessionByTokenHash(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.UserAgent, "curl\u2400\uFFFDxxx") || len(got.UserAgent) != models.MaxRecordedUserAgent || got.IP != "127.0.0.1\u2400" {
			t.Errorf("stored user agent %.20q (%d bytes), ip %q", got.UserAgent, len(got.UserAgent), got.IP)
		}
	})
}

// TestLookupsByTextWithNUL: a key with a NUL byte is not found, where bun
// would fail the whole query.
func TestLookupsByTextWithNUL(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		if _, err := db.App(ctx, "sh\x00op"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("App(NUL) = %v, want ErrNotFound", err)
		}
		if _, err := db.Invocation(ctx, "req\x00"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Invocation(NUL) = %v, want ErrNotFound", err)
		}
	})
}
