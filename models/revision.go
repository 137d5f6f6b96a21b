package models

import (
	"context"
	"fmt"
)

// An app's revision grows with every change to what the app serves: the
// app itself (slug, settings), its scripts (a new live version, settings,
// a deletion), its routes, domain claims and former slugs. Database
// triggers keep it (migration 0005), whoever writes, so a process that
// remembers the revision it made live can tell with one cheap query
// whether anything changed behind its back: a lost change notification,
// another node's write, a manual fix in SQL. It says that something
// changed, not what; revisions of different apps are unrelated.

// AppRevisions returns the revision of every app, by app id.
func (db *DB) AppRevisions(ctx context.Context) (map[int64]int64, error) {
	var rows []struct {
		ID       int64 `bun:"id"`
		Revision int64 `bun:"revision"`
	}
	if err := db.bun.NewSelect().Table("apps").Column("id", "revision").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read app revisions: %w", err)
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Revision
	}
	return out, nil
}

// AppRevision returns the revision of one app; a missing app is
// ErrNotFound.
func (db *DB) AppRevision(ctx context.Context, appID int64) (int64, error) {
	var rev int64
	if err := db.bun.NewSelect().Table("apps").Column("revision").Where("id = ?", appID).Scan(ctx, &rev); err != nil {
		return 0, notFound(err, "app %d", appID)
	}
	return rev, nil
}
