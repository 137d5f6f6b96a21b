package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// InvocationStats are the figures of a group of invocations (one app or
// one script) over a window: how many, how many failed, how long the
// slowest twentieth took.
type InvocationStats struct {
	// AppID and ScriptID name the group; ScriptID is 0 in per-app
	// figures and for requests that matched no route.
	AppID    int64 `bun:"app_id" json:"app_id"`
	ScriptID int64 `bun:"script_id" json:"script_id"`
	Requests int64 `bun:"requests" json:"requests"`
	// Errors are the server errors (status 500 and up); ClientErrors the
	// 4xx answers.
	Errors       int64 `bun:"errors" json:"errors"`
	ClientErrors int64 `bun:"client_errors" json:"client_errors"`
	// P95US is the 95th percentile duration (nearest rank), MaxUS the
	// longest, both in microseconds.
	P95US int64 `bun:"p95_us" json:"p95_us"`
	MaxUS int64 `bun:"max_us" json:"max_us"`
	// LastAt is when the group's latest invocation was logged, LastStatus
	// its status.
	LastAt     time.Time `bun:"-" json:"last_at"`
	LastStatus int       `bun:"last_status" json:"last_status"`
}

// StatsFilter selects the invocations InvocationStats groups: those of
// AppID (every app when 0) logged at or after Since.
type StatsFilter struct {
	AppID int64
	Since time.Time
	// ByScript groups per script of the app; else per app.
	ByScript bool
}

// InvocationStats computes per-app or per-script figures of the
// invocations f selects, in SQL on both dialects: the 95th percentile is
// the nearest rank ceil(0.95 n) of the durations ordered by a window
// function, which SQLite and PostgreSQL share. Groups are ordered by id.
func (db *DB) InvocationStats(ctx context.Context, f StatsFilter) ([]InvocationStats, error) {
	key := "app_id"
	if f.ByScript {
		key = "script_id"
	}
	where := "created_at >= ?"
	args := []any{normalizeTime(f.Since)}
	if f.AppID != 0 {
		where += " AND app_id = ?"
		args = append(args, f.AppID)
	}
	// rn orders a group's durations; last orders it newest first.
	query := `WITH ranked AS (
	SELECT app_id, script_id, status, duration_us, id,
		ROW_NUMBER() OVER (PARTITION BY ` + key + ` ORDER BY duration_us, id) AS rn,
		ROW_NUMBER() OVER (PARTITION BY ` + key + ` ORDER BY id DESC) AS last,
		COUNT(*) OVER (PARTITION BY ` + key + `) AS n
	FROM invocations WHERE ` + where + `
)
SELECT MAX(app_id) AS app_id, ` + groupScript(f.ByScript) + ` AS script_id,
	COUNT(*) AS requests,
	SUM(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors,
	SUM(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END) AS client_errors,
	MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN duration_us ELSE 0 END) AS p95_us,
	MAX(duration_us) AS max_us,
	MAX(CASE WHEN last = 1 THEN status ELSE 0 END) AS last_status,
	MAX(CASE WHEN last = 1 THEN id ELSE 0 END) AS last_id
FROM ranked GROUP BY ` + key + ` ORDER BY ` + key
	var rows []struct {
		InvocationStats
		LastID int64 `bun:"last_id"`
	}
	if err := db.bun.NewRaw(query, args...).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("invocation stats: %w", err)
	}
	out := make([]InvocationStats, 0, len(rows))
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.InvocationStats)
		ids = append(ids, r.LastID)
	}
	if len(ids) > 0 {
		// The time of each group's latest invocation, read through the
		// model so both dialects give it back in UTC.
		var last []Invocation
		if err := db.bun.NewSelect().Model(&last).Column("id", "created_at").Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("invocation stats: latest: %w", err)
		}
		at := make(map[int64]time.Time, len(last))
		for _, l := range last {
			at[l.ID] = l.CreatedAt
		}
		for i := range out {
			out[i].LastAt = at[rows[i].LastID]
		}
	}
	return out, nil
}

// groupScript is the script_id column of a group: the script's own, or 0
// for a per-app group.
func groupScript(byScript bool) string {
	if byScript {
		return "script_id"
	}
	return "0"
}

// AppCounts are how many scripts, routes and domain claims an app has.
type AppCounts struct {
	Scripts int64 `json:"scripts"`
	Routes  int64 `json:"routes"`
	Domains int64 `json:"domains"`
}

// CountAppParts counts the scripts, routes and domain claims of every
// app, by app id; an app with none of them is absent.
func (db *DB) CountAppParts(ctx context.Context) (map[int64]AppCounts, error) {
	out := make(map[int64]AppCounts)
	for _, t := range []struct {
		table string
		field func(*AppCounts) *int64
	}{
		{"scripts", func(c *AppCounts) *int64 { return &c.Scripts }},
		{"routes", func(c *AppCounts) *int64 { return &c.Routes }},
		{"domains", func(c *AppCounts) *int64 { return &c.Domains }},
	} {
		var rows []struct {
			AppID int64 `bun:"app_id"`
			N     int64 `bun:"n"`
		}
		err := db.bun.NewSelect().Table(t.table).Column("app_id").ColumnExpr("COUNT(*) AS n").Group("app_id").Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("count %s per app: %w", t.table, err)
		}
		for _, r := range rows {
			c := out[r.AppID]
			*t.field(&c) = r.N
			out[r.AppID] = c
		}
	}
	return out, nil
}
