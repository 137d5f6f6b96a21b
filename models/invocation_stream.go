package models

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// where adds the conditions of f to q.
func (f InvocationFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	if f.AppID != 0 {
		q = q.Where("app_id = ?", f.AppID)
	}
	if f.ScriptID != 0 {
		q = q.Where("script_id = ?", f.ScriptID)
	}
	if f.Status != 0 {
		q = q.Where("status = ?", f.Status)
	}
	if f.StatusClass != 0 {
		q = q.Where("status >= ? AND status < ?", f.StatusClass*100, f.StatusClass*100+100)
	}
	if f.Before != 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.After != 0 {
		q = q.Where("id > ?", f.After)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if f.Node != "" {
		q = q.Where("node = ?", f.Node)
	}
	if f.Trigger != "" {
		q = q.Where("trigger_kind = ?", f.Trigger)
	}
	return q
}

// InvocationsAfter returns the invocations matching f that were stored
// after the one with id afterID, oldest first: what a live view has not
// seen yet. f.Limit caps them as in ListInvocations.
func (db *DB) InvocationsAfter(ctx context.Context, f InvocationFilter, afterID int64) ([]Invocation, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultInvocationLimit
	case limit > MaxInvocationLimit:
		limit = MaxInvocationLimit
	}
	invs := []Invocation{}
	q := f.where(db.bun.NewSelect().Model(&invs)).Where("id > ?", afterID)
	if err := q.Order("id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list invocations after %d: %w", afterID, err)
	}
	return invs, nil
}

// LastInvocationID returns the id of the newest stored invocation, 0 when
// there is none: where a live view that wants only new ones starts.
func (db *DB) LastInvocationID(ctx context.Context) (int64, error) {
	var id int64
	if err := db.bun.NewSelect().Model((*Invocation)(nil)).
		ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &id); err != nil {
		return 0, fmt.Errorf("find the last invocation: %w", err)
	}
	return id, nil
}
