package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// startWriter runs w until the returned stop is called; stop waits for
// Run to return.
func startWriter(w *models.InvocationWriter) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func countInvocations(t *testing.T, db *models.DB) int {
	t.Helper()
	invs, err := db.ListInvocations(context.Background(), models.InvocationFilter{Limit: models.MaxInvocationLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(invs)
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInvocationWriterBatchesAndFlushesOnStop(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{
			BatchSize:     10,
			FlushInterval: time.Hour, // only full batches are written while running
			Buffer:        100,
		})
		stop := startWriter(w)
		for i := range 25 {
			w.Add(invocationAt(i, 1, 1, 200))
		}
		eventually(t, 5*time.Second, "two full batches", func() bool { return countInvocations(t, db) >= 20 })
		if n := countInvocations(t, db); n != 20 {
			t.Fatalf("%d rows written before stop, want the two full batches of 10", n)
		}
		stop()
		if n := countInvocations(t, db); n != 25 {
			t.Errorf("%d rows after stop, want all 25", n)
		}
		if d := w.Dropped(); d != 0 {
			t.Errorf("Dropped() = %d, want 0", d)
		}
		got, err := db.Invocation(context.Background(), "req-24")
		if err != nil {
			t.Fatal(err)
		}
		want := invocationAt(24, 1, 1, 200)
		want.ID = got.ID
		if *got != want {
			t.Errorf("stored %+v, want %+v", got, want)
		}
	})
}

func TestInvocationWriterFlushesOnInterval(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{
			BatchSize:     100,
			FlushInterval: 10 * time.Millisecond,
		})
		stop := startWriter(w)
		defer stop()
		for i := range 3 {
			w.Add(invocationAt(i, 1, 1, 200))
		}
		eventually(t, 5*time.Second, "a partial batch to be flushed", func() bool { return countInvocations(t, db) == 3 })
	})
}

// TestInvocationWriterFlushTimerStartsWithBatch: the flush timer runs
// from a batch's first row, not on a fixed tick, so an idle writer keeps
// no timer that wakes the server every FlushInterval. The database is
// incidental here (SQLite alone); the clock is synctest's.
func TestInvocationWriterFlushTimerStartsWithBatch(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	synctest.Test(t, func(t *testing.T) {
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{
			BatchSize:     100,
			FlushInterval: time.Second,
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.Run(ctx)
		}()
		time.Sleep(1500 * time.Millisecond) // idle past one FlushInterval
		w.Add(invocationAt(1, 1, 1, 200))
		time.Sleep(900 * time.Millisecond) // a fixed tick at 2 s would have written it
		synctest.Wait()
		if n := countInvocations(t, db); n != 0 {
			t.Fatalf("%d rows written 0.9 s after the first row of the batch, want 0: flushed on a fixed tick", n)
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if n := countInvocations(t, db); n != 1 {
			t.Fatalf("%d rows written 1.1 s after the first row, want 1", n)
		}
		cancel()
		<-done
	})
}

func TestInvocationWriterDropsWhenFull(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{Buffer: 4})
		for i := range 10 {
			w.Add(invocationAt(i, 1, 1, 200)) // nothing runs yet: must not block
		}
		if d := w.Dropped(); d != 6 {
			t.Errorf("Dropped() = %d, want 6", d)
		}
		startWriter(w)() // run and stop at once: writes what was buffered
		if n := countInvocations(t, db); n != 4 {
			t.Errorf("%d rows written, want the 4 buffered", n)
		}
	})
}

func TestInvocationWriterCountsFailedBatches(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{})
		for i := range 3 {
			w.Add(invocationAt(i, 1, 1, 200))
		}
		startWriter(w)()
		if d := w.Dropped(); d != 3 {
			t.Errorf("Dropped() = %d, want the 3 rows of the failed batch", d)
		}
	})
}

func TestInvocationWriterRetention(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		old := make([]models.Invocation, 10)
		for i := range old {
			old[i] = invocationAt(i, 1, 1, 200)
		}
		if err := db.InsertInvocations(ctx, old); err != nil {
			t.Fatal(err)
		}
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{
			FlushInterval: 5 * time.Millisecond,
			Retain:        4,
			TrimInterval:  10 * time.Millisecond,
		})
		stop := startWriter(w)
		defer stop()
		eventually(t, 5*time.Second, "the table trimmed at start", func() bool { return countInvocations(t, db) == 4 })

		for i := 100; i < 120; i++ {
			w.Add(invocationAt(i, 1, 1, 200))
		}
		eventually(t, 5*time.Second, "new rows written and trimmed", func() bool {
			invs, err := db.ListInvocations(ctx, models.InvocationFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(requestIDs(invs)) == "[req-119 req-118 req-117 req-116]"
		})
	})
}

func TestInvocationWriterConcurrentAdds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{
			BatchSize:     16,
			FlushInterval: time.Millisecond,
		})
		stop := startWriter(w)
		const adders, each = 8, 50
		var wg sync.WaitGroup
		for a := range adders {
			wg.Go(func() {
				for i := range each {
					w.Add(invocationAt(a*each+i, 1, 1, 200))
				}
			})
		}
		wg.Wait()
		stop()
		if n := countInvocations(t, db); n != adders*each {
			t.Errorf("%d rows, want %d", n, adders*each)
		}
	})
}

func TestInvocationWriterCapsPerSecond(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{MaxPerSecond: 3, Buffer: 100})
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		// Five in one second, then two in the next: 3 + 2 recorded.
		for i := range 7 {
			inv := invocationAt(i, 1, 1, 200)
			inv.CreatedAt = base.Add(time.Duration(i/5) * time.Second).Add(time.Duration(i) * time.Millisecond)
			w.Add(inv)
		}
		stop := startWriter(w)
		stop()
		if got := countInvocations(t, db); got != 5 {
			t.Fatalf("recorded %d invocations, want 5", got)
		}
		if got := w.Unrecorded(); got != 2 {
			t.Fatalf("Unrecorded() = %d, want 2", got)
		}
		if got := w.Dropped(); got != 0 {
			t.Fatalf("Dropped() = %d, want 0", got)
		}
	})
}

// TestInvocationWriterStoresHostileText: text a client or a script
// controls (a NUL in the path, invalid UTF-8 in the output, ...) is
// stored in a readable form, and the normal rows of the same batch with
// it. Before, one NUL made bun write invalid SQL and the batch was lost.
func TestInvocationWriterStoresHostileText(t *testing.T) {
	long := "/" + strings.Repeat("é", models.MaxRecordedPath) // 2 bytes a character
	tests := []struct {
		name  string
		edit  func(*models.Invocation)
		check func(t *testing.T, got *models.Invocation)
	}{
		{"nul in path", func(inv *models.Invocation) { inv.Path = "/\x00" }, func(t *testing.T, got *models.Invocation) {
			if got.Path != "/\u2400" {
				t.Errorf("path %q, want %q", got.Path, "/\u2400")
			}
		}},
		{"invalid utf-8 output", func(inv *models.Invocation) { inv.Output = "a\xff\xfeb\n" }, func(t *testing.T, got *models.Invocation) {
			if got.Output != "a\uFFFDb\n" {
				t.Errorf("output %q, want %q", got.Output, "a\uFFFDb\n")
			}
		}},
		{"nul in output, method and error", func(inv *models.Invocation) {
			inv.Output, inv.Method, inv.Error = "x\x00y", "G\x00T", "panic: \x00\xc3"
		}, func(t *testing.T, got *models.Invocation) {
			if got.Output != "x\u2400y" || got.Method != "G\u2400T" || got.Error != "panic: \u2400\uFFFD" {
				t.Errorf("output %q, method %q, error %q", got.Output, got.Method, got.Error)
			}
		}},
		{"overlong path", func(inv *models.Invocation) { inv.Path = long }, func(t *testing.T, got *models.Invocation) {
			if len(got.Path) > models.MaxRecordedPath || !utf8.ValidString(got.Path) || !strings.HasPrefix(long, got.Path) || len(got.Path) < models.MaxRecordedPath-1 {
				t.Errorf("path of %d bytes (valid %v), want the first %d bytes or one less", len(got.Path), utf8.ValidString(got.Path), models.MaxRecordedPath)
			}
		}},
	}
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		ctx := context.Background()
		db := testdb.Open(t, tg)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{})
		// One batch: a normal row, then each hostile one after a normal one.
		w.Add(invocationAt(0, 1, 1, 200))
		for i, tt := range tests {
			w.Add(invocationAt(100+i, 1, 1, 200))
			inv := invocationAt(i+1, 1, 1, 200)
			tt.edit(&inv)
			w.Add(inv)
		}
		startWriter(w)()
		if d := w.Dropped(); d != 0 {
			t.Errorf("Dropped() = %d, want 0", d)
		}
		if n, want := countInvocations(t, db), 1+2*len(tests); n != want {
			t.Errorf("%d rows stored, want %d", n, want)
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.Invocation(ctx, fmt.Sprintf("req-%d", i+1))
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, got)
			})
		}
	})
}

// rejectStatus makes the database refuse every invocation row with
// status, as a stand-in for any row the database takes exception to.
func rejectStatus(t *testing.T, db *models.DB, status int) {
	t.Helper()
	stmts := []string{fmt.Sprintf(`CREATE TRIGGER reject_row BEFORE INSERT ON invocations
		WHEN NEW.status = %d BEGIN SELECT RAISE(ABORT, 'row rejected by the test'); END`, status)}
	if db.Dialect() == models.DialectPostgres {
		stmts = []string{
			fmt.Sprintf(`CREATE FUNCTION reject_row() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.status = %d THEN RAISE EXCEPTION 'row rejected by the test'; END IF;
				RETURN NEW;
			END $$`, status),
			`CREATE TRIGGER reject_row BEFORE INSERT ON invocations FOR EACH ROW EXECUTE FUNCTION reject_row()`,
		}
	}
	for _, q := range stmts {
		if _, err := db.Bun().ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInvocationWriterLosesOnlyBadRows: when the database refuses some
// rows of a batch, the others are stored and only the refused ones are
// counted as dropped.
func TestInvocationWriterLosesOnlyBadRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, tg testdb.Target) {
		db := testdb.Open(t, tg)
		rejectStatus(t, db, 599)
		w := models.NewInvocationWriter(db, nil, models.InvocationWriterOptions{BatchSize: 64, FlushInterval: time.Hour})
		bad := map[int]bool{3: true, 4: true, 17: true, 40: true}
		for i := range 41 {
			status := 200
			if bad[i] {
				status = 599
			}
			w.Add(invocationAt(i, 1, 1, status))
		}
		startWriter(w)()
		if d := w.Dropped(); d != uint64(len(bad)) {
			t.Errorf("Dropped() = %d, want %d", d, len(bad))
		}
		invs, err := db.ListInvocations(context.Background(), models.InvocationFilter{Limit: models.MaxInvocationLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(invs) != 41-len(bad) {
			t.Fatalf("%d rows stored, want %d", len(invs), 41-len(bad))
		}
		for _, inv := range invs {
			if inv.Status != 200 {
				t.Errorf("stored %s with status %d", inv.RequestID, inv.Status)
			}
		}
	})
}
