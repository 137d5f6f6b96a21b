package schedule_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/schedule"
)

func TestParse(t *testing.T) {
	valid := []struct{ cron, tz string }{
		{"*/5 * * * *", ""}, {"*/10 * * * * *", "UTC"}, {"@hourly", "Europe/Berlin"},
		{"@every 30s", ""}, {"0 9 * * MON-FRI", "America/New_York"},
	}
	for _, v := range valid {
		if _, err := schedule.Parse(v.cron, v.tz); err != nil {
			t.Errorf("Parse(%q, %q) = %v", v.cron, v.tz, err)
		}
	}
	invalid := []struct{ cron, tz, want string }{
		{"", "", "required"}, {"61 * * * *", "", "cron"}, {"* * *", "", "cron"},
		{"TZ=UTC * * * * *", "", "timezone field"}, {"* * * * *", "Mars/Base", "timezone"},
		{"* * * * *", "Local", "timezone"}, {strings.Repeat("*", 300), "", "at most"},
	}
	for _, v := range invalid {
		_, err := schedule.Parse(v.cron, v.tz)
		if err == nil || !strings.Contains(err.Error(), v.want) {
			t.Errorf("Parse(%q, %q) = %v, want an error about %s", v.cron, v.tz, err, v.want)
		}
	}
}

func TestNextInTimezone(t *testing.T) {
	spec, err := schedule.Parse("0 9 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	winter := spec.Next(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	summer := spec.Next(time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC))
	if !winter.Equal(time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)) || !summer.Equal(time.Date(2026, 7, 15, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("9:00 in Berlin = %s in winter, %s in summer (UTC)", winter, summer)
	}
	secs, _ := schedule.Parse("*/10 * * * * *", "")
	got := secs.NextN(time.Date(2026, 1, 1, 0, 0, 5, 0, time.UTC), 3)
	if fmt.Sprint(got) != fmt.Sprint([]time.Time{
		time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 20, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC),
	}) {
		t.Errorf("NextN = %v", got)
	}
}

// newSchedule stores a schedule of a new script, next due at next.
func newSchedule(t *testing.T, db *models.DB, cron string, next time.Time) *models.Schedule {
	t.Helper()
	ctx := context.Background()
	app := &models.App{Slug: "app", Name: "app"}
	if err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	script, _, err := db.CreateScript(ctx, app.ID, "tick", "package main\n")
	if err != nil {
		t.Fatal(err)
	}
	s := &models.Schedule{AppID: app.ID, ScriptID: script.ID, Cron: cron, Timezone: "UTC", NextRunAt: next}
	if err := db.CreateSchedule(ctx, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// firings records what a Fire was called with.
type firings struct {
	mu  sync.Mutex
	ats []time.Time
	by  []string
}

func (f *firings) fire(who string) schedule.Fire {
	return func(_ context.Context, _ models.Schedule, at time.Time) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.ats = append(f.ats, at)
		f.by = append(f.by, who)
	}
}

func (f *firings) snapshot() ([]time.Time, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ats), slices.Clone(f.by)
}

// TestMissedFiringsRunOnce: a server that was down for ten firings fires
// once when it is back, then waits for the next firing after now.
func TestMissedFiringsRunOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
		s := newSchedule(t, db, "* * * * *", now.Add(-10*time.Minute).Truncate(time.Minute))
		var f firings
		sch := schedule.New(db, f.fire("a"), schedule.Options{Now: func() time.Time { return now }})
		ctx := context.Background()
		next, err := sch.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !next.Equal(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)) {
			t.Errorf("next firing %s, want 12:01 (the first after now)", next)
		}
		if _, err := sch.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { ats, _ := f.snapshot(); return len(ats) >= 1 })
		ats, _ := f.snapshot()
		if len(ats) != 1 || !ats[0].Equal(s.NextRunAt) {
			t.Errorf("fired %v, want once, at the missed %s", ats, s.NextRunAt)
		}
	})
}

// TestExactlyOnceAcrossServers: two schedulers, each on its own pool of
// one database (as two servers would be), watch a schedule that fires
// every second: together they fire each firing exactly once, about once
// a second.
func TestExactlyOnceAcrossServers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		dbA, dbB := testdb.Open(t, tg), testdb.Open(t, tg)
		newSchedule(t, dbA, "* * * * * *", time.Now().Add(time.Second).Truncate(time.Second))
		var f firings
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for name, db := range map[string]*models.DB{"a": dbA, "b": dbB} {
			s := schedule.New(db, f.fire(name), schedule.Options{Poll: 100 * time.Millisecond})
			wg.Go(func() { s.Run(ctx) })
		}
		waitFor(t, func() bool { ats, _ := f.snapshot(); return len(ats) >= 4 })
		cancel()
		wg.Wait()
		ats, by := f.snapshot()
		seen := map[time.Time]bool{}
		for _, at := range ats {
			if seen[at] {
				t.Errorf("firing %s ran twice (%v)", at, by)
			}
			seen[at] = true
		}
		slices.SortFunc(ats, func(a, b time.Time) int { return a.Compare(b) })
		for i := 1; i < len(ats); i++ {
			if gap := ats[i].Sub(ats[i-1]); gap != time.Second {
				t.Errorf("firings %s and %s are %s apart, want 1s", ats[i-1], ats[i], gap)
			}
		}
		t.Logf("fired %d times, by %v", len(ats), by)
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
