package models

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// CountAdminUsers returns how many admin users exist, disabled or not.
func (db *DB) CountAdminUsers(ctx context.Context) (int, error) {
	n, err := db.bun.NewSelect().Model((*AdminUser)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count admin users: %w", err)
	}
	return int(n), nil
}

// ListAdminUsers returns every admin user, ordered by id.
func (db *DB) ListAdminUsers(ctx context.Context) ([]AdminUser, error) {
	users := []AdminUser{}
	if err := db.bun.NewSelect().Model(&users).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list admin users: %w", err)
	}
	return users, nil
}

// AdminUser returns the admin user with id.
func (db *DB) AdminUser(ctx context.Context, id int64) (*AdminUser, error) {
	u := new(AdminUser)
	if err := db.bun.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "admin user %d", id)
	}
	return u, nil
}

// AdminUserByName returns the admin user called username, compared
// without regard to case.
func (db *DB) AdminUserByName(ctx context.Context, username string) (*AdminUser, error) {
	u := new(AdminUser)
	err := db.bun.NewSelect().Model(u).Where("lower(username) = ?", strings.ToLower(username)).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "admin user %q", username)
	}
	return u, nil
}

// CreateAdminUser stores u and sets its ID (and its timestamps when
// zero; its role when empty). A username taken in any case is
// ErrConflict.
func (db *DB) CreateAdminUser(ctx context.Context, u *AdminUser) error {
	return createAdminUser(ctx, db.bun, u)
}

func createAdminUser(ctx context.Context, idb bun.IDB, u *AdminUser) error {
	if u.Role == "" {
		u.Role = RoleAdmin
	}
	u.CreatedAt = normalizeTime(u.CreatedAt)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.UpdatedAt = normalizeTime(u.UpdatedAt)
	if _, err := idb.NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: username %q is taken", ErrConflict, u.Username)
		}
		return fmt.Errorf("create admin user %q: %w", u.Username, err)
	}
	return nil
}

// CreateFirstAdminUser stores u only if no admin user exists yet;
// otherwise it is ErrConflict and nothing changes.
func (db *DB) CreateFirstAdminUser(ctx context.Context, u *AdminUser) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return createFirstAdminUser(ctx, tx, u)
	})
}

func createFirstAdminUser(ctx context.Context, tx bun.Tx, u *AdminUser) error {
	n, err := tx.NewSelect().Model((*AdminUser)(nil)).Count(ctx)
	if err != nil {
		return fmt.Errorf("count admin users: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: an admin user already exists", ErrConflict)
	}
	return createAdminUser(ctx, tx, u)
}

// SetAdminUserDisabled disables or enables the user with id. Disabling
// ends every session of the user, and is refused with ErrConflict for the
// last active admin.
func (db *DB) SetAdminUserDisabled(ctx context.Context, id int64, disabled bool) (*AdminUser, error) {
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if disabled {
			if err := db.keepOneActiveAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		res, err := tx.NewUpdate().Model((*AdminUser)(nil)).
			Set("disabled = ?", disabled).Set("updated_at = ?", now()).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update admin user %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: admin user %d", ErrNotFound, id)
		}
		if disabled {
			return deleteUserSessions(ctx, tx, id, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.AdminUser(ctx, id)
}

// DeleteAdminUser deletes the user with id and, by cascade, its
// sessions. Deleting the last active admin is ErrConflict.
func (db *DB) DeleteAdminUser(ctx context.Context, id int64) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := db.keepOneActiveAdmin(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*AdminUser)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete admin user %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: admin user %d", ErrNotFound, id)
		}
		return nil
	})
}

// keepOneActiveAdmin refuses, with ErrConflict, a change that would leave
// no active admin once user id is disabled or gone. On PostgreSQL it
// locks the active admins, so two such changes cannot both pass.
func (db *DB) keepOneActiveAdmin(ctx context.Context, tx bun.Tx, id int64) error {
	var ids []int64
	q := tx.NewSelect().Model((*AdminUser)(nil)).Column("id").
		Where("disabled = ?", false).Where("role = ?", RoleAdmin)
	if err := db.forUpdate(q).Scan(ctx, &ids); err != nil {
		return fmt.Errorf("list active admins: %w", err)
	}
	for _, other := range ids {
		if other != id {
			return nil
		}
	}
	if len(ids) == 0 {
		// Nothing active to protect; let the caller report a missing user.
		return nil
	}
	return fmt.Errorf("%w: admin user %d is the last active admin", ErrConflict, id)
}

// SetAdminUserPassword replaces the password hash of user id and ends
// every session of the user except keepSession (0 keeps none).
func (db *DB) SetAdminUserPassword(ctx context.Context, id int64, hash string, keepSession int64) error {
	return db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*AdminUser)(nil)).
			Set("password_hash = ?", hash).Set("updated_at = ?", now()).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("set password of admin user %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: admin user %d", ErrNotFound, id)
		}
		return deleteUserSessions(ctx, tx, id, keepSession)
	})
}

// RehashAdminUserPassword replaces the stored hash of user id when it
// still equals old: a login upgrading a hash made with weaker parameters.
// Sessions are untouched; a lost race changes nothing.
func (db *DB) RehashAdminUserPassword(ctx context.Context, id int64, old, hash string) error {
	_, err := db.bun.NewUpdate().Model((*AdminUser)(nil)).
		Set("password_hash = ?", hash).
		Where("id = ?", id).Where("password_hash = ?", old).Exec(ctx)
	if err != nil {
		return fmt.Errorf("rehash password of admin user %d: %w", id, err)
	}
	return nil
}
