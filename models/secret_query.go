package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// PutSecret stores s, sealed, under its app and name, replacing the
// secret of that name if there is one, and reports whether it is new.
func (db *DB) PutSecret(ctx context.Context, s *Secret) (created bool, err error) {
	if err := ValidateSecretName(s.Name); err != nil {
		return false, err
	}
	s.UpdatedAt = now()
	err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		old := new(Secret)
		err := db.forUpdate(tx.NewSelect().Model(old).Column("sec.id", "sec.created_at").
			Where("sec.app_id = ?", s.AppID).Where("sec.name = ?", s.Name)).Scan(ctx)
		if err == nil {
			s.ID, s.CreatedAt = old.ID, old.CreatedAt.UTC()
			_, err = tx.NewUpdate().Model(s).Column("sealed", "key_id", "fingerprint", "updated_at").WherePK().Exec(ctx)
			if err != nil {
				return fmt.Errorf("update secret %q of app %d: %w", s.Name, s.AppID, err)
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read secret %q of app %d: %w", s.Name, s.AppID, err)
		}
		created = true
		s.CreatedAt = s.UpdatedAt
		if _, err := tx.NewInsert().Model(s).Returning("id").Exec(ctx); err != nil {
			switch {
			case isForeignKeyViolation(err):
				return fmt.Errorf("%w: app %d", ErrNotFound, s.AppID)
			case isUniqueViolation(err):
				return fmt.Errorf("%w: secret %q was created meanwhile", ErrConflict, s.Name)
			}
			return fmt.Errorf("create secret %q of app %d: %w", s.Name, s.AppID, err)
		}
		return nil
	})
	return created, err
}

// Secret returns the app's secret name, sealed, or ErrNotFound.
func (db *DB) Secret(ctx context.Context, appID int64, name string) (*Secret, error) {
	s := new(Secret)
	err := db.bun.NewSelect().Model(s).Where("sec.app_id = ?", appID).Where("sec.name = ?", name).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "secret %q", name)
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

// Secrets lists the app's secrets by name.
func (db *DB) Secrets(ctx context.Context, appID int64) ([]Secret, error) {
	out := []Secret{}
	if err := db.bun.NewSelect().Model(&out).Where("sec.app_id = ?", appID).Order("sec.name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list secrets of app %d: %w", appID, err)
	}
	for i := range out {
		out[i].CreatedAt, out[i].UpdatedAt = out[i].CreatedAt.UTC(), out[i].UpdatedAt.UTC()
	}
	return out, nil
}

// DeleteSecret removes the app's secret name, or answers ErrNotFound.
func (db *DB) DeleteSecret(ctx context.Context, appID int64, name string) error {
	res, err := db.bun.NewDelete().Model((*Secret)(nil)).Where("app_id = ?", appID).Where("name = ?", name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete secret %q of app %d: %w", name, appID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: secret %q", ErrNotFound, name)
	}
	return nil
}

// SecretsNotUnder lists every secret, of every app, sealed under a key
// other than keyID: those a key rotation has still to reseal.
func (db *DB) SecretsNotUnder(ctx context.Context, keyID string) ([]Secret, error) {
	out := []Secret{}
	if err := db.bun.NewSelect().Model(&out).Where("sec.key_id <> ?", keyID).Order("sec.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list secrets to reseal: %w", err)
	}
	return out, nil
}

// ResealSecret replaces the sealed value of secret s with sealed, under
// keyID, unless it changed since s was read (then it reports false and
// leaves it: whoever changed it sealed it under the current key).
func (db *DB) ResealSecret(ctx context.Context, s *Secret, sealed []byte, keyID, fingerprint string) (bool, error) {
	res, err := db.bun.NewUpdate().Model((*Secret)(nil)).
		Set("sealed = ?", sealed).Set("key_id = ?", keyID).Set("fingerprint = ?", fingerprint).
		Where("id = ?", s.ID).Where("key_id = ?", s.KeyID).Where("sealed = ?", s.Sealed).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("reseal secret %q of app %d: %w", s.Name, s.AppID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
