package models

import (
	"context"
	"fmt"
	"time"
)

// MaxAPITokensPerUser bounds the tokens one user may hold at once.
const MaxAPITokensPerUser = 100

// CreateAPIToken stores t and sets its ID. A name the user already gave
// a token is ErrConflict; a missing user ErrNotFound; a user with
// MaxAPITokensPerUser tokens ErrConflict too.
func (db *DB) CreateAPIToken(ctx context.Context, t *APIToken) error {
	t.CreatedAt = normalizeTime(t.CreatedAt)
	if t.ExpiresAt != nil {
		e := normalizeTime(*t.ExpiresAt)
		t.ExpiresAt = &e
	}
	n, err := db.bun.NewSelect().Model((*APIToken)(nil)).Where("user_id = ?", t.UserID).Count(ctx)
	if err != nil {
		return fmt.Errorf("count api tokens of admin user %d: %w", t.UserID, err)
	}
	if n >= MaxAPITokensPerUser {
		return fmt.Errorf("%w: admin user %d already has %d API tokens; revoke some first", ErrConflict, t.UserID, n)
	}
	if _, err := db.bun.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("%w: you already have an API token named %q", ErrConflict, t.Name)
		case isForeignKeyViolation(err):
			return fmt.Errorf("%w: admin user %d", ErrNotFound, t.UserID)
		}
		return fmt.Errorf("create api token %q: %w", t.Name, err)
	}
	return nil
}

// APITokenByHash returns the token whose secret hashes to hash, with its
// User loaded, whether or not it has expired.
func (db *DB) APITokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	t := new(APIToken)
	err := db.bun.NewSelect().Model(t).Relation("User").Where("t.token_hash = ?", hash).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "api token")
	}
	if t.User == nil {
		return nil, fmt.Errorf("%w: api token %d has no user", ErrNotFound, t.ID)
	}
	t.User.CreatedAt, t.User.UpdatedAt = t.User.CreatedAt.UTC(), t.User.UpdatedAt.UTC()
	return t, nil
}

// ListAPITokens returns the tokens of user userID, by name.
func (db *DB) ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	tokens := []APIToken{}
	if err := db.bun.NewSelect().Model(&tokens).
		Where("user_id = ?", userID).
		Order("name").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("list api tokens of admin user %d: %w", userID, err)
	}
	return tokens, nil
}

// TouchAPIToken records a use of token id at usedAt.
func (db *DB) TouchAPIToken(ctx context.Context, id int64, usedAt time.Time) error {
	_, err := db.bun.NewUpdate().Model((*APIToken)(nil)).
		Set("last_used_at = ?", normalizeTime(usedAt)).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch api token %d: %w", id, err)
	}
	return nil
}

// DeleteAPIToken revokes token id of user userID. A token that is not
// there, or is another user's, is ErrNotFound.
func (db *DB) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	res, err := db.bun.NewDelete().Model((*APIToken)(nil)).
		Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete api token %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: api token %d", ErrNotFound, id)
	}
	return nil
}

// PurgeExpiredAPITokens deletes the tokens that expired at or before at
// and returns how many there were.
func (db *DB) PurgeExpiredAPITokens(ctx context.Context, at time.Time) (int64, error) {
	res, err := db.bun.NewDelete().Model((*APIToken)(nil)).
		Where("expires_at IS NOT NULL").
		Where("expires_at <= ?", normalizeTime(at)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge expired api tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
