package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// now is the timestamp stored for a change: UTC, at the microsecond
// precision PostgreSQL keeps, so a value reads back exactly as written on
// both backends.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// normalizeTime brings a caller's timestamp to the stored precision.
func normalizeTime(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// The models below read their timestamps back in UTC, whatever location
// the driver scanned them in, so both backends give identical values (and
// identical JSON).

// AfterScanRow implements bun.AfterScanRowHook.
func (a *App) AfterScanRow(context.Context) error {
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return nil
}

// AfterScanRow implements bun.AfterScanRowHook.
func (s *Script) AfterScanRow(context.Context) error {
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return nil
}

// AfterScanRow implements bun.AfterScanRowHook.
func (v *ScriptVersion) AfterScanRow(context.Context) error {
	v.CreatedAt = v.CreatedAt.UTC()
	return nil
}

// AfterScanRow implements bun.AfterScanRowHook.
func (r *Route) AfterScanRow(context.Context) error {
	r.CreatedAt = r.CreatedAt.UTC()
	return nil
}

// AfterScanRow implements bun.AfterScanRowHook.
func (i *Invocation) AfterScanRow(context.Context) error {
	i.CreatedAt = i.CreatedAt.UTC()
	return nil
}

var (
	_ bun.AfterScanRowHook = (*App)(nil)
	_ bun.AfterScanRowHook = (*Script)(nil)
	_ bun.AfterScanRowHook = (*ScriptVersion)(nil)
	_ bun.AfterScanRowHook = (*Route)(nil)
	_ bun.AfterScanRowHook = (*Invocation)(nil)
	_ bun.AfterScanRowHook = (*Domain)(nil)
	_ bun.AfterScanRowHook = (*SlugRedirect)(nil)
)

// AfterScanRow implements bun.AfterScanRowHook.
func (u *AdminUser) AfterScanRow(context.Context) error {
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return nil
}

// AfterScanRow implements bun.AfterScanRowHook.
func (s *Session) AfterScanRow(context.Context) error {
	s.CreatedAt, s.ExpiresAt, s.LastUsedAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastUsedAt.UTC()
	return nil
}

var (
	_ bun.AfterScanRowHook = (*AdminUser)(nil)
	_ bun.AfterScanRowHook = (*Session)(nil)
)

// AfterScanRow implements bun.AfterScanRowHook.
func (e *KVEntry) AfterScanRow(context.Context) error {
	e.UpdatedAt = e.UpdatedAt.UTC()
	if e.ExpiresAt != nil {
		t := e.ExpiresAt.UTC()
		e.ExpiresAt = &t
	}
	return nil
}

// AfterScanRow implements bun.AfterScanRowHook.
func (s *Schedule) AfterScanRow(context.Context) error {
	s.NextRunAt, s.CreatedAt, s.UpdatedAt = s.NextRunAt.UTC(), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	if s.LastFiredAt != nil {
		t := s.LastFiredAt.UTC()
		s.LastFiredAt = &t
	}
	return nil
}
