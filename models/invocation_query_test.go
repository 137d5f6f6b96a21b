package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// invocationAt returns an invocation of app/script with status, logged
// `minute` minutes after a fixed base time.
func invocationAt(minute int, appID, scriptID int64, status int) models.Invocation {
	base := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	return models.Invocation{
		RequestID:  fmt.Sprintf("req-%d", minute),
		AppID:      appID,
		ScriptID:   scriptID,
		Version:    1,
		RouteID:    7,
		Method:     "GET",
		Path:       "/p",
		Status:     status,
		DurationUS: int64(100 + minute),
		Output:     "printed\n",
		Error:      "",
		CreatedAt:  base.Add(time.Duration(minute) * time.Minute),
	}
}

func TestListInvocations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		// Inserted out of time order: listing is by time, newest first.
		batch := []models.Invocation{
			invocationAt(3, 1, 10, 200),
			invocationAt(1, 1, 10, 200),
			invocationAt(2, 1, 11, 500),
			invocationAt(5, 2, 20, 200),
			invocationAt(4, 2, 20, 404),
		}
		// Two nodes ran them; req-1 was logged before records named one.
		for i, node := range []string{"pi1-7946", "", "pi2-7946", "pi2-7946", "pi1-7946"} {
			batch[i].Node = node
		}
		if err := db.InsertInvocations(ctx, batch); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name   string
			filter models.InvocationFilter
			want   []string
		}{
			{"all", models.InvocationFilter{}, []string{"req-5", "req-4", "req-3", "req-2", "req-1"}},
			{"app", models.InvocationFilter{AppID: 1}, []string{"req-3", "req-2", "req-1"}},
			{"script", models.InvocationFilter{ScriptID: 10}, []string{"req-3", "req-1"}},
			{"status", models.InvocationFilter{Status: 200}, []string{"req-5", "req-3", "req-1"}},
			{"app and status", models.InvocationFilter{AppID: 2, Status: 404}, []string{"req-4"}},
			{"limit", models.InvocationFilter{Limit: 2}, []string{"req-5", "req-4"}},
			{"nothing", models.InvocationFilter{AppID: 3}, []string{}},
			{"node", models.InvocationFilter{Node: "pi2-7946"}, []string{"req-5", "req-2"}},
			{"node and app", models.InvocationFilter{Node: "pi1-7946", AppID: 1}, []string{"req-3"}},
			{"node and status", models.InvocationFilter{Node: "pi2-7946", Status: 200}, []string{"req-5"}},
			{"unknown node", models.InvocationFilter{Node: "pi3-7946"}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.ListInvocations(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if ids := requestIDs(got); fmt.Sprint(ids) != fmt.Sprint(tt.want) {
					t.Errorf("ListInvocations(%+v) = %v, want %v", tt.filter, ids, tt.want)
				}
			})
		}

		got, err := db.Invocation(ctx, "req-2")
		if err != nil {
			t.Fatal(err)
		}
		want := invocationAt(2, 1, 11, 500)
		want.ID, want.Node = got.ID, "pi2-7946"
		if *got != want {
			t.Errorf("Invocation(req-2) = %+v, want %+v", got, want)
		}
		if _, err := db.Invocation(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Invocation(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestListInvocationsLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		batch := make([]models.Invocation, models.MaxInvocationLimit+10)
		for i := range batch {
			batch[i] = invocationAt(i, 1, 1, 200)
		}
		if err := db.InsertInvocations(ctx, batch); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			limit, want int
		}{
			{0, models.DefaultInvocationLimit},
			{-1, models.DefaultInvocationLimit},
			{7, 7},
			{models.MaxInvocationLimit, models.MaxInvocationLimit},
			{models.MaxInvocationLimit + 1, models.MaxInvocationLimit},
		}
		for _, tt := range tests {
			got, err := db.ListInvocations(ctx, models.InvocationFilter{Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("Limit %d gave %d rows, want %d", tt.limit, len(got), tt.want)
			}
		}
	})
}

func TestTrimInvocations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		if n, err := db.TrimInvocations(ctx, 5); err != nil || n != 0 {
			t.Fatalf("trim of an empty table = %d, %v", n, err)
		}
		batch := make([]models.Invocation, 12)
		for i := range batch {
			batch[i] = invocationAt(i, 1, 1, 200)
		}
		if err := db.InsertInvocations(ctx, batch); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			keep        int
			wantDeleted int64
			wantNewest  string
			wantOldest  string
		}{
			{20, 0, "req-11", "req-0"},
			{12, 0, "req-11", "req-0"},
			{5, 7, "req-11", "req-7"},
			{1, 4, "req-11", "req-11"},
			{0, 1, "", ""},
		}
		for _, s := range steps {
			n, err := db.TrimInvocations(ctx, s.keep)
			if err != nil {
				t.Fatal(err)
			}
			if n != s.wantDeleted {
				t.Errorf("trim to %d deleted %d, want %d", s.keep, n, s.wantDeleted)
			}
			left, err := db.ListInvocations(ctx, models.InvocationFilter{Limit: models.MaxInvocationLimit})
			if err != nil {
				t.Fatal(err)
			}
			ids := requestIDs(left)
			if len(ids) != min(s.keep, 12) {
				t.Errorf("after trim to %d: %v", s.keep, ids)
			}
			if len(ids) > 0 && (ids[0] != s.wantNewest || ids[len(ids)-1] != s.wantOldest) {
				t.Errorf("after trim to %d kept %v, want %s..%s", s.keep, ids, s.wantNewest, s.wantOldest)
			}
		}
	})
}

func requestIDs(invs []models.Invocation) []string {
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.RequestID
	}
	return ids
}

func TestInvocationsPerMinute(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		base := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
		at := func(offset time.Duration, appID, scriptID int64, status int) models.Invocation {
			inv := invocationAt(0, appID, scriptID, status)
			inv.CreatedAt = base.Add(offset)
			return inv
		}
		batch := []models.Invocation{
			at(-time.Second, 1, 10, 200),                        // before the window
			at(0, 1, 10, 200),                                   // 03:04, first instant
			at(59*time.Second+999*time.Millisecond, 1, 10, 500), // 03:04, last instant
			at(30*time.Second, 1, 11, 404),                      // 03:04, other script, not an error
			at(time.Minute, 1, 10, 503),                         // 03:05
			at(3*time.Minute+time.Second, 2, 20, 200),           // 03:07, other app
		}
		if err := db.InsertInvocations(ctx, batch); err != nil {
			t.Fatal(err)
		}
		m := func(minute int, scriptID, requests, errors int64) models.MinuteCount {
			return models.MinuteCount{Minute: base.Add(time.Duration(minute) * time.Minute), ScriptID: scriptID, Requests: requests, Errors: errors}
		}
		tests := []struct {
			name   string
			filter models.MinuteFilter
			want   []models.MinuteCount
		}{
			{"all", models.MinuteFilter{Since: base}, []models.MinuteCount{m(0, 10, 2, 1), m(0, 11, 1, 0), m(1, 10, 1, 1), m(3, 20, 1, 0)}},
			{"app", models.MinuteFilter{Since: base, AppID: 2}, []models.MinuteCount{m(3, 20, 1, 0)}},
			{"script", models.MinuteFilter{Since: base, ScriptID: 10}, []models.MinuteCount{m(0, 10, 2, 1), m(1, 10, 1, 1)}},
			{"earlier", models.MinuteFilter{Since: base.Add(-time.Hour), ScriptID: 10}, []models.MinuteCount{m(-1, 10, 1, 0), m(0, 10, 2, 1), m(1, 10, 1, 1)}},
			{"later", models.MinuteFilter{Since: base.Add(time.Minute)}, []models.MinuteCount{m(1, 10, 1, 1), m(3, 20, 1, 0)}},
			{"nothing", models.MinuteFilter{Since: base.Add(time.Hour)}, []models.MinuteCount{}},
			{"no lower bound", models.MinuteFilter{AppID: 1}, []models.MinuteCount{m(-1, 10, 1, 0), m(0, 10, 2, 1), m(0, 11, 1, 0), m(1, 10, 1, 1)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.InvocationsPerMinute(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("InvocationsPerMinute(%+v) =\n%v\nwant\n%v", tt.filter, got, tt.want)
				}
			})
		}
	})
}

// TestListInvocationsPaging pages through records stored out of time
// order, both ways: every record comes exactly once, in the list's order.
func TestListInvocationsPaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		// Ids in insert order; times shuffled, two of them equal.
		var batch []models.Invocation
		for _, minute := range []int{4, 1, 7, 3, 3, 6, 0, 5, 2} {
			batch = append(batch, invocationAt(minute, 1, 10, 200))
		}
		if err := db.InsertInvocations(ctx, batch); err != nil {
			t.Fatal(err)
		}
		all, err := db.ListInvocations(ctx, models.InvocationFilter{})
		if err != nil || len(all) != len(batch) {
			t.Fatalf("ListInvocations = %d rows, %v", len(all), err)
		}
		for _, limit := range []int{1, 2, 4} {
			// Older pages with before=the last id of each page.
			var got []models.Invocation
			f := models.InvocationFilter{Limit: limit}
			for range len(batch) + 1 {
				page, err := db.ListInvocations(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				f.Before = page[len(page)-1].ID
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(ids(all)) {
				t.Errorf("limit %d: paging back gave %v, want %v", limit, ids(got), ids(all))
			}
			// Newer pages with after=the first id of each page, from the oldest.
			got = nil
			f = models.InvocationFilter{Limit: limit, After: all[len(all)-1].ID}
			for range len(batch) + 1 {
				page, err := db.ListInvocations(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(page, got...)
				f.After = page[0].ID
			}
			if want := ids(all[:len(all)-1]); fmt.Sprint(ids(got)) != fmt.Sprint(want) {
				t.Errorf("limit %d: paging forward gave %v, want %v", limit, ids(got), want)
			}
		}
	})
}

func ids(invs []models.Invocation) []int64 {
	out := make([]int64, len(invs))
	for i, inv := range invs {
		out[i] = inv.ID
	}
	return out
}
