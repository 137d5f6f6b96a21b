package models_test

import (
	"context"
	"slices"
	"testing"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

func TestInvocationsAfter(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		if id, err := db.LastInvocationID(ctx); err != nil || id != 0 {
			t.Fatalf("LastInvocationID of none = %d, %v", id, err)
		}
		var invs []models.Invocation
		for i, st := range []int{200, 404, 500, 503, 200} {
			invs = append(invs, models.Invocation{RequestID: "r", AppID: int64(1 + i%2), Status: st, Path: "/" + string(rune('a'+i)), Node: []string{"n1", "n2"}[i%3/2]})
		}
		if err := db.InsertInvocations(ctx, invs); err != nil {
			t.Fatal(err)
		}
		last, err := db.LastInvocationID(ctx)
		if err != nil || last == 0 {
			t.Fatalf("LastInvocationID = %d, %v", last, err)
		}
		paths := func(invs []models.Invocation) []string {
			var out []string
			for _, inv := range invs {
				out = append(out, inv.Path)
			}
			return out
		}
		all, err := db.InvocationsAfter(ctx, models.InvocationFilter{}, 0)
		if err != nil || !slices.Equal(paths(all), []string{"/a", "/b", "/c", "/d", "/e"}) {
			t.Fatalf("InvocationsAfter(0) = %v, %v; want oldest first", paths(all), err)
		}
		tests := []struct {
			name  string
			f     models.InvocationFilter
			after int64
			want  []string
		}{
			{"after the second", models.InvocationFilter{}, all[1].ID, []string{"/c", "/d", "/e"}},
			{"after the last", models.InvocationFilter{}, last, nil},
			{"5xx", models.InvocationFilter{StatusClass: 5}, 0, []string{"/c", "/d"}},
			{"2xx of app 1", models.InvocationFilter{StatusClass: 2, AppID: 1}, 0, []string{"/a", "/e"}},
			{"exact status", models.InvocationFilter{Status: 404}, 0, []string{"/b"}},
			{"limit", models.InvocationFilter{Limit: 2}, 0, []string{"/a", "/b"}},
			{"node", models.InvocationFilter{Node: "n2"}, 0, []string{"/c"}},
			{"node after", models.InvocationFilter{Node: "n1"}, all[1].ID, []string{"/d", "/e"}},
		}
		for _, tt := range tests {
			got, err := db.InvocationsAfter(ctx, tt.f, tt.after)
			if err != nil || !slices.Equal(paths(got), tt.want) {
				t.Errorf("%s: %v, %v; want %v", tt.name, paths(got), err, tt.want)
			}
		}
		listed, err := db.ListInvocations(ctx, models.InvocationFilter{StatusClass: 5})
		if err != nil || !slices.Equal(paths(listed), []string{"/d", "/c"}) {
			t.Errorf("ListInvocations(5xx) = %v, %v; want newest first [/d /c]", paths(listed), err)
		}
	})
}

func TestMissingInvocationIDs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		var invs []models.Invocation
		for i := range 6 {
			invs = append(invs, models.Invocation{RequestID: "r", AppID: 1, Status: 200 + i, Path: "/p"})
		}
		if err := db.InsertInvocations(ctx, invs); err != nil {
			t.Fatal(err)
		}
		all, err := db.InvocationsAfter(ctx, models.InvocationFilter{}, 0)
		if err != nil || len(all) != 6 {
			t.Fatalf("InvocationsAfter = %d, %v", len(all), err)
		}
		base := all[0].ID - 1
		// Ids base+2 and base+5 go, as if their batch were not visible yet.
		for _, id := range []int64{base + 2, base + 5} {
			if _, err := db.Bun().NewDelete().Model((*models.Invocation)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			lo, hi int64
			want   []int64
		}{
			{base, base + 6, []int64{base + 2, base + 5}},
			{base + 2, base + 4, nil},
			{base + 4, base + 9, []int64{base + 5, base + 7, base + 8, base + 9}},
			{base + 3, base + 3, nil},
		}
		for _, tt := range tests {
			got, err := db.MissingInvocationIDs(ctx, tt.lo, tt.hi)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("MissingInvocationIDs(%d, %d) = %v, %v; want %v", tt.lo-base, tt.hi-base, got, err, tt.want)
			}
		}
		found, stored, err := db.InvocationsIn(ctx, models.InvocationFilter{Status: 203}, []int64{base + 2, base + 3, base + 4})
		if err != nil || len(found) != 1 || found[0].ID != base+4 || !slices.Equal(stored, []int64{base + 3, base + 4}) {
			t.Errorf("InvocationsIn = %v, %v, %v; want row %d and stored [%d %d]", found, stored, err, base+4, base+3, base+4)
		}
	})
}
