package models

import (
	"context"
	"fmt"
)

// ListInvocations returns the invocations matching f, newest first.
func (db *DB) ListInvocations(ctx context.Context, f InvocationFilter) ([]Invocation, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultInvocationLimit
	case limit > MaxInvocationLimit:
		limit = MaxInvocationLimit
	}
	invs := []Invocation{}
	q := db.bun.NewSelect().Model(&invs)
	if f.AppID != 0 {
		q = q.Where("app_id = ?", f.AppID)
	}
	if f.ScriptID != 0 {
		q = q.Where("script_id = ?", f.ScriptID)
	}
	if f.Status != 0 {
		q = q.Where("status = ?", f.Status)
	}
	if err := q.Order("created_at DESC", "id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list invocations: %w", err)
	}
	return invs, nil
}

// Invocation returns the invocation logged for a request id (the latest,
// should a client have reused the id).
func (db *DB) Invocation(ctx context.Context, requestID string) (*Invocation, error) {
	inv := new(Invocation)
	if err := db.bun.NewSelect().Model(inv).
		Where("request_id = ?", requestID).
		Order("id DESC").
		Limit(1).
		Scan(ctx); err != nil {
		return nil, notFound(err, "invocation of request %q", requestID)
	}
	return inv, nil
}

// InsertInvocations stores a batch of invocations with one multi-row
// INSERT. Zero CreatedAt values become now. The InvocationWriter calls it;
// it is exported for tools and tests that need rows at once.
func (db *DB) InsertInvocations(ctx context.Context, invs []Invocation) error {
	if len(invs) == 0 {
		return nil
	}
	for i := range invs {
		invs[i].ID = 0
		invs[i].CreatedAt = normalizeTime(invs[i].CreatedAt)
	}
	if _, err := db.bun.NewInsert().Model(&invs).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("insert %d invocations: %w", len(invs), err)
	}
	return nil
}

// TrimInvocations deletes all but the newest keep invocations (by insert
// order) and reports how many it deleted.
func (db *DB) TrimInvocations(ctx context.Context, keep int) (int64, error) {
	if keep < 0 {
		keep = 0
	}
	cutoff := db.bun.NewSelect().Model((*Invocation)(nil)).
		Column("id").
		Order("id DESC").
		Limit(1).
		Offset(int64(keep))
	res, err := db.bun.NewDelete().Model((*Invocation)(nil)).
		Where("id <= (?)", cutoff).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("trim invocations to %d: %w", keep, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("trim invocations to %d: %w", keep, err)
	}
	return n, nil
}
