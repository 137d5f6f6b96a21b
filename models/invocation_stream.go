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

// MissingInvocationIDs returns the ids in (lo, hi] that no stored
// invocation has, lowest first: on PostgreSQL, ids of batches that are
// still being written (a sequence hands ids out before the rows commit,
// so another node's batch can become visible after higher ids), or of
// batches that failed. A live view that moved past them asks for them
// again with InvocationsIn. Ranges wider than maxIDWindow are checked at
// their top only: a batch still in flight holds recent ids.
func (db *DB) MissingInvocationIDs(ctx context.Context, lo, hi int64) ([]int64, error) {
	if hi-lo > maxIDWindow {
		lo = hi - maxIDWindow
	}
	if hi <= lo {
		return nil, nil
	}
	var n int64
	if err := db.bun.NewSelect().Model((*Invocation)(nil)).ColumnExpr("COUNT(*)").
		Where("id > ? AND id <= ?", lo, hi).Scan(ctx, &n); err != nil {
		return nil, fmt.Errorf("count invocations %d..%d: %w", lo+1, hi, err)
	}
	if n == hi-lo {
		return nil, nil // the usual case: no gap
	}
	var stored []int64
	if err := db.bun.NewSelect().Model((*Invocation)(nil)).Column("id").
		Where("id > ? AND id <= ?", lo, hi).Order("id").Scan(ctx, &stored); err != nil {
		return nil, fmt.Errorf("list invocation ids %d..%d: %w", lo+1, hi, err)
	}
	var missing []int64
	next := lo + 1
	for _, id := range append(stored, hi+1) {
		for ; next < id; next++ {
			missing = append(missing, next)
		}
		next = id + 1
	}
	return missing, nil
}

// maxIDWindow bounds the id range MissingInvocationIDs looks at.
const maxIDWindow = 10_000

// InvocationsIn returns the stored invocations among ids that match f,
// oldest first, and the ids among them that are stored at all (matching f
// or not), so a caller can stop asking for those.
func (db *DB) InvocationsIn(ctx context.Context, f InvocationFilter, ids []int64) (invs []Invocation, stored []int64, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	if err := db.bun.NewSelect().Model((*Invocation)(nil)).Column("id").
		Where("id IN (?)", bun.In(ids)).Order("id").Scan(ctx, &stored); err != nil {
		return nil, nil, fmt.Errorf("find %d invocations by id: %w", len(ids), err)
	}
	if len(stored) == 0 {
		return nil, nil, nil
	}
	f.Before, f.After = 0, 0
	invs = []Invocation{}
	if err := f.where(db.bun.NewSelect().Model(&invs)).
		Where("id IN (?)", bun.In(stored)).Order("id").Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("list %d invocations by id: %w", len(stored), err)
	}
	return invs, stored, nil
}
