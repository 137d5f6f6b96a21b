package models

import (
	"context"
	"fmt"
	"time"
)

// RecentCalls are a script's latest invocations: how many there were and
// how many of them failed with a server error (status 500 and up).
type RecentCalls struct {
	ScriptID int64 `bun:"script_id" json:"-"`
	Calls    int64 `bun:"calls" json:"calls"`
	Failures int64 `bun:"failures" json:"failures"`
}

// RecentCallsFilter selects the invocations RecentScriptCalls counts: of
// each script of app AppID (script 0, requests that matched no route,
// excluded), the Last newest logged at or after Since.
type RecentCallsFilter struct {
	AppID int64
	Since time.Time
	Last  int
}

// RecentScriptCalls counts, per script of an app, its latest calls and
// their failures, in one query on both dialects; a script without a call
// in the window is absent.
func (db *DB) RecentScriptCalls(ctx context.Context, f RecentCallsFilter) (map[int64]RecentCalls, error) {
	if f.Last <= 0 {
		return nil, fmt.Errorf("recent calls of app %d: Last must be positive, got %d", f.AppID, f.Last)
	}
	const query = `SELECT script_id, COUNT(*) AS calls,
	SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS failures
FROM (
	SELECT script_id, status, ROW_NUMBER() OVER (PARTITION BY script_id ORDER BY id DESC) AS rn
	FROM invocations WHERE app_id = ? AND created_at >= ? AND script_id <> 0
) AS latest
WHERE rn <= ? GROUP BY script_id`
	var rows []RecentCalls
	if err := db.bun.NewRaw(query, f.AppID, normalizeTime(f.Since), f.Last).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("recent calls of app %d: %w", f.AppID, err)
	}
	out := make(map[int64]RecentCalls, len(rows))
	for _, r := range rows {
		out[r.ScriptID] = r
	}
	return out, nil
}
