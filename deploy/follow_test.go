package deploy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/internal/testdb"
	"github.com/picloud/picloud/models"
)

// follow runs n's Follow with listen until the test ends.
func (n *node) follow(t *testing.T, listen func(context.Context) (deploy.ChangeFeed, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.d.Follow(ctx, listen) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// within fails t unless cond holds within d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFollowMakesNotifiedChangesLive: with no periodic resync, a change
// another process commits is live within a second, by its notification;
// so are a new app and a deleted one.
func TestFollowMakesNotifiedChangesLive(t *testing.T) {
	tg := testdb.Postgres(t)
	ctx := context.Background()
	db := testdb.Open(t, tg)
	n := newNode(t, db, time.Hour)
	if err := n.d.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{}, 8)
	n.follow(t, func(ctx context.Context) (deploy.ChangeFeed, error) {
		f, err := db.ListenChanges(ctx)
		if err == nil {
			listening <- struct{}{}
		}
		return f, err
	})
	<-listening

	shop := &models.App{Slug: "shop", Name: "shop"}
	if err := db.CreateApp(ctx, shop); err != nil {
		t.Fatal(err)
	}
	s, _, err := db.CreateScript(ctx, shop.ID, "s", textScript("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRoute(ctx, &models.Route{AppID: shop.ID, ScriptID: s.ID, Method: "GET", Path: "/a"}); err != nil {
		t.Fatal(err)
	}
	// The bound: live everywhere within 1 s.
	within(t, time.Second, "the new app live", func() bool {
		st, body := n.call(t, "shop.localhost", "/a")
		return st == 200 && body == "v1"
	})
	if _, _, err := db.UpdateScript(ctx, s.ID, textScript("v2")); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "the new version live", func() bool {
		_, body := n.call(t, "shop.localhost", "/a")
		return body == "v2"
	})
	if _, err := db.DeleteApp(ctx, shop.ID); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "the deleted app gone", func() bool {
		st, _ := n.call(t, "shop.localhost", "/a")
		return st == 0
	})
}

// TestFollowCatchesUpAfterALostConnection: a change committed while the
// feed was down (so never notified to anyone listening) goes live once
// the feed is back, by the full resync that follows reconnecting, not by
// the periodic one.
func TestFollowCatchesUpAfterALostConnection(t *testing.T) {
	tg := testdb.Postgres(t)
	ctx := context.Background()
	db := testdb.Open(t, tg)
	n := newNode(t, db, time.Hour)
	if err := n.d.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		current *models.ChangeFeed
		down    = make(chan struct{}) // closed: listening fails
		attempt = make(chan error, 16)
	)
	gate := make(chan struct{}) // closed: listening works again
	n.follow(t, func(ctx context.Context) (deploy.ChangeFeed, error) {
		select {
		case <-down:
			select {
			case <-gate:
			default:
				attempt <- errors.New("down")
				return nil, errors.New("test: the database is unreachable")
			}
		default:
		}
		f, err := db.ListenChanges(ctx)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		current = f
		mu.Unlock()
		attempt <- nil
		return f, nil
	})
	if err := <-attempt; err != nil {
		t.Fatal(err)
	}

	// The connection drops (the server ends it, as in an outage: closing
	// the client's end here would race with the wait in progress on it),
	// and the next attempt fails.
	close(down)
	mu.Lock()
	pid := current.PID()
	mu.Unlock()
	if _, err := db.Bun().ExecContext(ctx, "SELECT pg_terminate_backend(?)", pid); err != nil {
		t.Fatal(err)
	}
	if err := <-attempt; err == nil {
		t.Fatal("listened again while down")
	}
	shop := &models.App{Slug: "shop", Name: "shop"}
	if err := db.CreateApp(ctx, shop); err != nil {
		t.Fatal(err)
	}
	s, _, err := db.CreateScript(ctx, shop.ID, "s", textScript("missed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRoute(ctx, &models.Route{AppID: shop.ID, ScriptID: s.ID, Method: "GET", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	close(gate)
	for err := range attempt {
		if err == nil {
			break
		}
	}
	within(t, 2*time.Second, "the change made while down live", func() bool {
		st, body := n.call(t, "shop.localhost", "/")
		return st == 200 && body == "missed"
	})
}

// TestListenChangesIsPostgresOnly: SQLite has nobody else to hear from.
func TestListenChangesIsPostgresOnly(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	if _, err := db.ListenChanges(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("ListenChanges on SQLite = %v, want ErrUnsupported", err)
	}
}
