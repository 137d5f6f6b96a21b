package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// CreateSession stores s and sets its ID. The caller sets its times: the
// clock of sessions belongs to package admin. The user agent and address
// are recorded text, made storable like an invocation's.
func (db *DB) CreateSession(ctx context.Context, s *Session) error {
	s.UserAgent = recordedText(s.UserAgent, MaxRecordedUserAgent)
	s.IP = recordedText(s.IP, MaxRecordedIP)
	s.CreatedAt = normalizeTime(s.CreatedAt)
	s.ExpiresAt = normalizeTime(s.ExpiresAt)
	s.LastUsedAt = normalizeTime(s.LastUsedAt)
	if _, err := db.bun.NewInsert().Model(s).Returning("id").Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w: admin user %d", ErrNotFound, s.UserID)
		}
		return fmt.Errorf("create session of admin user %d: %w", s.UserID, err)
	}
	return nil
}

// SessionByTokenHash returns the session whose token hashes to hash,
// with its User loaded, whether or not it has expired.
func (db *DB) SessionByTokenHash(ctx context.Context, hash string) (*Session, error) {
	s := new(Session)
	err := db.bun.NewSelect().Model(s).Relation("User").Where("s.token_hash = ?", hash).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "session")
	}
	if s.User == nil {
		return nil, fmt.Errorf("%w: session %d has no user", ErrNotFound, s.ID)
	}
	s.User.CreatedAt, s.User.UpdatedAt = s.User.CreatedAt.UTC(), s.User.UpdatedAt.UTC()
	return s, nil
}

// TouchSession records a use of session id at usedAt and moves its
// expiry to expiresAt.
func (db *DB) TouchSession(ctx context.Context, id int64, usedAt, expiresAt time.Time) error {
	_, err := db.bun.NewUpdate().Model((*Session)(nil)).
		Set("last_used_at = ?", normalizeTime(usedAt)).
		Set("expires_at = ?", normalizeTime(expiresAt)).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch session %d: %w", id, err)
	}
	return nil
}

// DeleteSession ends session id. A session already gone is not an error:
// the outcome is the same.
func (db *DB) DeleteSession(ctx context.Context, id int64) error {
	if _, err := db.bun.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete session %d: %w", id, err)
	}
	return nil
}

// DeleteUserSessions ends every session of user userID except keep (0
// keeps none).
func (db *DB) DeleteUserSessions(ctx context.Context, userID, keep int64) error {
	return deleteUserSessions(ctx, db.bun, userID, keep)
}

func deleteUserSessions(ctx context.Context, idb bun.IDB, userID, keep int64) error {
	q := idb.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID)
	if keep != 0 {
		q = q.Where("id <> ?", keep)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("delete sessions of admin user %d: %w", userID, err)
	}
	return nil
}

// PurgeExpiredSessions deletes the sessions that expired at or before
// at, and returns how many there were.
func (db *DB) PurgeExpiredSessions(ctx context.Context, at time.Time) (int64, error) {
	res, err := db.bun.NewDelete().Model((*Session)(nil)).
		Where("expires_at <= ?", normalizeTime(at)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// CreateSetupToken stores a setup token by its hash, valid until
// expiresAt.
func (db *DB) CreateSetupToken(ctx context.Context, hash string, createdAt, expiresAt time.Time) error {
	t := &SetupToken{TokenHash: hash, CreatedAt: normalizeTime(createdAt), ExpiresAt: normalizeTime(expiresAt)}
	if _, err := db.bun.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("create setup token: %w", err)
	}
	return nil
}

// PurgeExpiredSetupTokens deletes the setup tokens that expired at or
// before at.
func (db *DB) PurgeExpiredSetupTokens(ctx context.Context, at time.Time) error {
	_, err := db.bun.NewDelete().Model((*SetupToken)(nil)).
		Where("expires_at <= ?", normalizeTime(at)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("purge expired setup tokens: %w", err)
	}
	return nil
}

// SetupFirstAdminUser spends the setup token that hashes to hash, valid
// at at, to create u as the first admin user. Every setup token is spent
// with it. An unknown, expired or spent token is ErrNotFound; an existing
// admin is ErrConflict. Nothing changes unless u is created.
func (db *DB) SetupFirstAdminUser(ctx context.Context, hash string, at time.Time, u *AdminUser) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// Deleting the token first makes two uses of it take turns: the
		// second finds nothing to delete.
		res, err := tx.NewDelete().Model((*SetupToken)(nil)).
			Where("token_hash = ?", hash).Where("expires_at > ?", normalizeTime(at)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("spend setup token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: setup token (unknown, expired or already used)", ErrNotFound)
		}
		if _, err := tx.NewDelete().Model((*SetupToken)(nil)).Where("1 = 1").Exec(ctx); err != nil {
			return fmt.Errorf("spend setup tokens: %w", err)
		}
		return createFirstAdminUser(ctx, tx, u)
	})
}

// SetupTokenValid reports whether a setup token that hashes to hash
// exists and is valid at at. It is a cheap check before the work of
// SetupFirstAdminUser, which checks again.
func (db *DB) SetupTokenValid(ctx context.Context, hash string, at time.Time) (bool, error) {
	ok, err := db.bun.NewSelect().Model((*SetupToken)(nil)).
		Where("token_hash = ?", hash).Where("expires_at > ?", normalizeTime(at)).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("check setup token: %w", err)
	}
	return ok, nil
}
