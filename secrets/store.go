package secrets

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/picloud/picloud/models"
)

// Store keeps apps' secrets in the database, sealed by its keyring. It
// is the one place a secret's value exists in clear, on its way in
// (Put) and out (Value).
type Store struct {
	db   *models.DB
	ring *Keyring
}

// NewStore returns a Store on db sealing with ring.
func NewStore(db *models.DB, ring *Keyring) *Store {
	return &Store{db: db, ring: ring}
}

// ErrInvalidValue: a value that is too large or not UTF-8 text.
var ErrInvalidValue = errors.New("invalid secret value")

// Put seals value as the app's secret name and stores it, replacing the
// old value of that name; it reports whether the secret is new and
// returns it as stored (sealed: safe to show).
func (s *Store) Put(ctx context.Context, appID int64, name, value string) (*models.Secret, bool, error) {
	if err := models.ValidateSecretName(name); err != nil {
		return nil, false, err
	}
	switch {
	case len(value) > models.MaxSecretValue:
		return nil, false, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrInvalidValue, len(value), models.MaxSecretValue)
	case !utf8.ValidString(value):
		return nil, false, fmt.Errorf("%w: not valid UTF-8", ErrInvalidValue)
	}
	sealed, id, err := s.ring.Seal(appID, name, []byte(value))
	if err != nil {
		return nil, false, err
	}
	sec := &models.Secret{AppID: appID, Name: name, Sealed: sealed, KeyID: id, Fingerprint: s.ring.Fingerprint([]byte(value))}
	created, err := s.db.PutSecret(ctx, sec)
	if err != nil {
		return nil, false, err
	}
	return sec, created, nil
}

// Value returns the clear value of the app's secret name; false when
// the app has no such secret.
func (s *Store) Value(ctx context.Context, appID int64, name string) (string, bool, error) {
	sec, err := s.db.Secret(ctx, appID, name)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	v, err := s.ring.Open(appID, name, sec.Sealed, sec.KeyID)
	if err != nil {
		return "", false, err
	}
	return string(v), true, nil
}

// List lists the app's secrets: names, times and fingerprints.
func (s *Store) List(ctx context.Context, appID int64) ([]models.Secret, error) {
	return s.db.Secrets(ctx, appID)
}

// Delete removes the app's secret name (models.ErrNotFound if none).
func (s *Store) Delete(ctx context.Context, appID int64, name string) error {
	return s.db.DeleteSecret(ctx, appID, name)
}

// Reseal seals every stored secret that is not under the current key
// again under it, and returns how many it resealed. A secret under a key
// the keyring lacks is left as it is and reported in the error; the
// others are resealed all the same. Safe to run on several servers at
// once: a secret changed meanwhile is left to its new value.
func (s *Store) Reseal(ctx context.Context) (int, error) {
	stale, err := s.db.SecretsNotUnder(ctx, s.ring.CurrentID())
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i := range stale {
		sec := &stale[i]
		value, err := s.ring.Open(sec.AppID, sec.Name, sec.Sealed, sec.KeyID)
		if err != nil {
			errs = append(errs, fmt.Errorf("app %d: %w", sec.AppID, err))
			continue
		}
		sealed, id, err := s.ring.Seal(sec.AppID, sec.Name, value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err := s.db.ResealSecret(ctx, sec, sealed, id, s.ring.Fingerprint(value))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}
