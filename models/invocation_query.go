package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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
	// The list is ordered by (created_at, id), so its cursors are too: an
	// id alone would skip or repeat rows stored out of time order (a
	// batch of calls that began earlier, another node's records).
	before, after := f.Before, f.After
	f.Before, f.After = 0, 0
	invs := []Invocation{}
	q := f.where(db.bun.NewSelect().Model(&invs))
	if before != 0 {
		c, err := db.invocationCursor(ctx, before)
		if err != nil {
			return nil, err
		}
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", c.CreatedAt, c.CreatedAt, c.ID)
	}
	if after != 0 {
		c, err := db.invocationCursor(ctx, after)
		if err != nil {
			return nil, err
		}
		q = q.Where("(created_at > ? OR (created_at = ? AND id > ?))", c.CreatedAt, c.CreatedAt, c.ID)
	}
	// A page after a cursor is the one next to it (oldest first, then
	// turned round), not the newest of everything after it.
	order := []string{"created_at DESC", "id DESC"}
	if after != 0 && before == 0 {
		order = []string{"created_at", "id"}
	}
	if err := q.Order(order...).Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list invocations: %w", err)
	}
	if after != 0 && before == 0 {
		slices.Reverse(invs)
	}
	return invs, nil
}

// invocationCursor returns the position in the list of the invocation
// with id: its created_at and id. A cursor whose row is gone (trimmed)
// keeps its place by id, at the time of the nearest row stored after it.
func (db *DB) invocationCursor(ctx context.Context, id int64) (Invocation, error) {
	var c Invocation
	err := db.bun.NewSelect().Model(&c).Column("id", "created_at").
		Where("id >= ?", id).Order("id").Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Past every stored row: nothing is newer, everything older.
		return Invocation{ID: id, CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	case err != nil:
		return Invocation{}, fmt.Errorf("find invocation cursor %d: %w", id, err)
	}
	c.ID = id
	return c, nil
}

// Invocation returns the invocation logged for a request id (the latest,
// should a client have reused the id).
func (db *DB) Invocation(ctx context.Context, requestID string) (*Invocation, error) {
	if !lookupText(requestID) {
		return nil, fmt.Errorf("%w: invocation of request %q", ErrNotFound, requestID)
	}
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
// INSERT. Zero CreatedAt values become now, and the recorded text is made
// storable first (valid UTF-8, no NUL, bounded; see MaxRecordedPath and
// the others), so no request or script output can fail the batch. The
// InvocationWriter calls it; it is exported for tools and tests that need
// rows at once.
func (db *DB) InsertInvocations(ctx context.Context, invs []Invocation) error {
	if len(invs) == 0 {
		return nil
	}
	for i := range invs {
		invs[i].ID = 0
		invs[i].CreatedAt = normalizeTime(invs[i].CreatedAt)
		invs[i].storable()
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

// minuteLayout is the text form of a minute bucket in InvocationsPerMinute.
const minuteLayout = "2006-01-02 15:04"

// minuteExpr is the SQL for the minute an invocation's created_at falls
// in, as text in minuteLayout. SQLite keeps timestamps as text in UTC
// ("2006-01-02 15:04:05.999999+00:00"), whose first 16 characters are the
// minute; PostgreSQL keeps timestamptz.
func (db *DB) minuteExpr() string {
	if db.dialect == DialectPostgres {
		return `to_char(date_trunc('minute', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI')`
	}
	return "substr(created_at, 1, 16)"
}

// InvocationsPerMinute counts the invocations matching f per minute and
// script, oldest minute first, then by script id. It feeds the
// dashboard's requests-per-minute chart.
func (db *DB) InvocationsPerMinute(ctx context.Context, f MinuteFilter) ([]MinuteCount, error) {
	var rows []struct {
		Minute   string `bun:"minute"`
		ScriptID int64  `bun:"script_id"`
		Requests int64  `bun:"requests"`
		Errors   int64  `bun:"errors"`
	}
	q := db.bun.NewSelect().Model((*Invocation)(nil)).
		ColumnExpr(db.minuteExpr() + " AS minute").
		Column("script_id").
		ColumnExpr("COUNT(*) AS requests").
		ColumnExpr("SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors")
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", normalizeTime(f.Since))
	}
	if f.AppID != 0 {
		q = q.Where("app_id = ?", f.AppID)
	}
	if f.ScriptID != 0 {
		q = q.Where("script_id = ?", f.ScriptID)
	}
	q = q.GroupExpr("minute, script_id").OrderExpr("minute, script_id")
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("count invocations per minute: %w", err)
	}
	out := make([]MinuteCount, 0, len(rows))
	for _, r := range rows {
		m, err := time.Parse(minuteLayout, strings.Replace(r.Minute, "T", " ", 1))
		if err != nil {
			return nil, fmt.Errorf("count invocations per minute: bucket %q: %w", r.Minute, err)
		}
		out = append(out, MinuteCount{Minute: m.UTC(), ScriptID: r.ScriptID, Requests: r.Requests, Errors: r.Errors})
	}
	return out, nil
}
